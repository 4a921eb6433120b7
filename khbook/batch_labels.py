"""User-facing texts of the batch outputs (汇总.xlsx and report.html), in zh and en.

Labels of list values (tiers, stages, regions ...) and column headers of the customer
sheet come from the spec; these are only the batch's own words.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "sheet_customers": "客户总表", "sheet_findings": "全部问题", "sheet_quality": "数据质量",
        "sheet_dist": "分布", "sheet_dups": "跨文件重复", "sheet_failed": "处理失败", "sheet_mom": "月度对比",
        "file": "文件", "rep": "销售代表", "owner": "负责人", "abc_dept": "客户等级(ABC，全部门)",
        "abc_file": "客户等级(ABC，本文件)", "last_followup": "最近跟进", "tags": "状态标签",
        "abc_note": "客户等级(ABC) 按全部门所有客户的年交易额合计重新计算（方法与阈值见 rules.yaml 的 abc），与各文件内的分级可能不同。",
        "sheet": "工作表", "cell": "单元格", "customer_id": "客户ID", "rule": "规则", "severity": "严重程度",
        "column": "列", "value": "原值", "message": "说明",
        "files": "文件数", "customers": "客户数", "rows": "数据行数", "errors": "错误", "warnings": "警告",
        "completeness": "关键字段完整率", "followed_share": "近{days}天跟进率", "score": "质量得分",
        "score_formula": "得分 = 100 - 40×min(1, 错误/行数) - 15×min(1, 警告/行数) - 25×(1-关键字段完整率) - 20×(1-近{days}天跟进率)，四舍五入，0-100；没有数据行的代表不计分。",
        "dim_value_tier": "客户价值等级", "dim_abc_class": "客户等级(ABC，全部门)", "dim_stage": "合作阶段",
        "dim_region": "所在区域", "dim_industry": "所属行业", "count": "客户数",
        "basis": "匹配依据", "basis_credit_code": "统一社会信用代码相同", "basis_name": "公司名称（规范化后）相同",
        "key": "匹配值", "file_a": "文件 A", "owner_a": "负责人 A", "id_a": "客户ID A", "name_a": "客户名称 A",
        "file_b": "文件 B", "owner_b": "负责人 B", "id_b": "客户ID B", "name_b": "客户名称 B",
        "reason": "原因", "no_failures": "所有文件均已处理。", "no_dups": "未发现跨文件重复客户。",
        "mom_changes": "分级或阶段变化", "field": "项目", "old": "上月", "new": "本月", "old_file": "上月文件",
        "mom_new": "新增客户", "mom_gone": "已从所有文件中消失的客户", "mom_reps": "质量得分变化",
        "old_score": "上月得分", "new_score": "本月得分", "delta": "变化", "previous_as_of": "上次批处理日期",
        "title": "客户管理月度复盘", "as_of": "数据截至", "masked": "已隐去手机号、邮箱和证件号码",
        "h_files": "文件", "h_failed": "处理失败", "h_customers": "客户", "h_reps": "销售代表",
        "h_errors": "错误", "h_warnings": "警告", "h_dups": "跨文件重复", "h_churn": "流失风险",
        "h_overdue": "逾期跟进", "headline": "概览", "charts": "分布", "quality": "各代表数据质量",
        "top_problems": "各代表主要问题", "dups": "跨文件重复客户（需确认归属）", "churn": "流失风险客户",
        "overdue": "逾期未跟进", "mom": "月度对比", "failed": "处理失败的文件", "none": "无",
        "annual_amount": "年交易额(万元)", "stage": "合作阶段", "value_tier": "客户价值等级",
        "generated_by": "由 khbook batch 生成", "scores_chart": "质量得分",
        "value_tier_f": "客户价值等级", "abc_class_f": "客户等级(ABC)", "stage_f": "合作阶段",
    },
    "en": {
        "sheet_customers": "All customers", "sheet_findings": "All findings", "sheet_quality": "Data quality",
        "sheet_dist": "Distribution", "sheet_dups": "Cross-file duplicates", "sheet_failed": "Failed files",
        "sheet_mom": "Month over month",
        "file": "File", "rep": "Rep", "owner": "Owner", "abc_dept": "ABC class (department)",
        "abc_file": "ABC class (this file)", "last_followup": "Last follow-up", "tags": "Status tags",
        "abc_note": "ABC classes are recomputed over the whole department's total annual revenue (method and thresholds: abc in rules.yaml); they may differ from each file's own classes.",
        "sheet": "Sheet", "cell": "Cell", "customer_id": "Customer ID", "rule": "Rule", "severity": "Severity",
        "column": "Column", "value": "Value", "message": "Message",
        "files": "Files", "customers": "Customers", "rows": "Data rows", "errors": "Errors", "warnings": "Warnings",
        "completeness": "Key-field completeness", "followed_share": "Followed up in {days} days", "score": "Quality score",
        "score_formula": "score = 100 - 40*min(1, errors/rows) - 15*min(1, warnings/rows) - 25*(1 - completeness) - 20*(1 - followed up in {days} days), rounded, 0-100; a rep without data rows has no score.",
        "dim_value_tier": "Value tier", "dim_abc_class": "ABC class (department)", "dim_stage": "Stage",
        "dim_region": "Region", "dim_industry": "Industry", "count": "Customers",
        "basis": "Match", "basis_credit_code": "same credit code", "basis_name": "same company name (normalised)",
        "key": "Matched on", "file_a": "File A", "owner_a": "Owner A", "id_a": "Customer ID A", "name_a": "Name A",
        "file_b": "File B", "owner_b": "Owner B", "id_b": "Customer ID B", "name_b": "Name B",
        "reason": "Reason", "no_failures": "Every file was processed.", "no_dups": "No cross-file duplicates.",
        "mom_changes": "Tier, class or stage changes", "field": "Field", "old": "Before", "new": "Now", "old_file": "Previous file",
        "mom_new": "New customers", "mom_gone": "Customers gone from every file", "mom_reps": "Quality score changes",
        "old_score": "Previous score", "new_score": "Score", "delta": "Change", "previous_as_of": "Previous batch as of",
        "title": "Customer review", "as_of": "As of", "masked": "phones, e-mails and ID numbers masked",
        "h_files": "Files", "h_failed": "Failed", "h_customers": "Customers", "h_reps": "Reps",
        "h_errors": "Errors", "h_warnings": "Warnings", "h_dups": "Cross-file duplicates", "h_churn": "Churn risks",
        "h_overdue": "Overdue follow-ups", "headline": "Overview", "charts": "Distributions", "quality": "Data quality per rep",
        "top_problems": "Top problems per rep", "dups": "Cross-file duplicates (ownership to settle)", "churn": "Churn risks",
        "overdue": "Overdue follow-ups", "mom": "Month over month", "failed": "Files that failed", "none": "None",
        "annual_amount": "Annual revenue (10k CNY)", "stage": "Stage", "value_tier": "Value tier",
        "generated_by": "Generated by khbook batch", "scores_chart": "Quality score",
        "value_tier_f": "Value tier", "abc_class_f": "ABC class", "stage_f": "Stage",
    },
}


def texts(lang: str) -> dict[str, str]:
    return TEXTS["en" if lang == "en" else "zh"]
