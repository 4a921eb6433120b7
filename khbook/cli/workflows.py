"""The team commands: import (lists a team already has), kit (the installable team kit), split,
merge and upgrade (the month's round trip). Each calls one library function and prints its
result in the output language."""

from __future__ import annotations

import argparse

from khbook.cli.commands import as_of
from khbook.cli.lang import UsageError, password, texts


def cmd_import(args: argparse.Namespace) -> int:
    from khbook.importer.report import render_text
    from khbook.importer.run import import_lists
    from khbook.report.render import render_json
    from khbook.spec import load_spec

    spec = load_spec(args.spec)
    t = texts(spec, args.lang)
    if not args.output and not args.write_map:
        raise UsageError(t("console.import_needs_output"))
    result = import_lists(args.sources, args.output, spec=spec, owner=args.owner, id_prefix=args.id_prefix,
                          map_file=args.map, write_map_to=args.write_map, into=args.into, lang=args.lang,
                          as_of=as_of(args.as_of, t))
    if args.format == "json":
        print(render_json(result.to_dict()))
    else:
        print(render_text(result, spec, args.lang))
    return 0


def cmd_kit(args: argparse.Namespace) -> int:
    from khbook.kit import build_kit
    from khbook.spec import load_spec

    spec = load_spec(args.spec)
    t = texts(spec, args.lang)
    result = build_kit(args.output, spec=spec, lang=args.lang, wheel=args.wheel,
                       windows_python=args.windows_wheels, lite_url=args.lite_url)
    print(t("console.kit_written", folder=result.folder, files=len(result.files), zip=result.zip))
    if result.windows_wheels:
        print(t("console.kit_wheels", count=len(result.windows_wheels)))
    return 0


# --------------------------------------------------------------------------- team workflows


def cmd_split(args: argparse.Namespace) -> int:
    from khbook.spec import load_spec
    from khbook.team.split import split_book

    spec = load_spec(args.spec)
    t = texts(spec, args.lang)
    secret = password(args, t)
    result = split_book(args.master, args.output, spec=spec, by=args.by, mapping=args.reassign,
                        as_of=as_of(args.as_of, t), lang=args.lang, password=secret, encrypt=secret)
    w = spec.texts("team", args.lang)
    print(w["split_done"].format(files=len(result.files), dir=args.output, customers=sum(result.customers.values())))
    for owner, path in result.files.items():
        if owner:
            print(w["split_file"].format(file=path.name, customers=result.customers[owner], rows=result.rows[owner]))
        else:
            print(w["split_unassigned"].format(file=path.name, customers=result.customers[owner], orphans=result.orphans))
    for value in result.unmatched:
        print(w["map_unmatched"].format(value=value))
    if result.stale:
        print(w["split_stale"].format(files=w["name_sep"].join(p.name for p in result.stale)))
    if result.handover is not None:
        pairs: dict[tuple[str, str], int] = {}
        for m in result.moves:
            pairs[(m.old, m.new)] = pairs.get((m.old, m.new), 0) + 1
        for (old, new), n in sorted(pairs.items()):
            print(w["handover_line"].format(to=new or w["unassigned_file"], from_=old or w["unassigned_file"], customers=n))
        print(w["handover_done"].format(file=result.handover))
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from khbook.spec import load_spec
    from khbook.team.merge import merge_dir

    spec = load_spec(args.spec)
    t = texts(spec, args.lang)
    result = merge_dir(args.directory, args.output, spec=spec, as_of=as_of(args.as_of, t), lang=args.lang,
                       password=password(args, t))
    w = spec.texts("team", args.lang)
    print(w["merge_done"].format(files=len(result.files), file=result.output, customers=result.customers,
                                 rows=result.rows, conflicts=len(result.conflicts)))
    if result.conflicts:
        print(w["merge_conflicts"].format(sheet=w["conflicts_sheet"]))
    return 1 if result.conflicts else 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    from khbook.spec import load_spec
    from khbook.team.upgrade import upgrade_book

    spec = load_spec(args.spec)
    t = texts(spec, args.lang)
    result = upgrade_book(args.file, args.output, spec=spec, as_of=as_of(args.as_of, t), lang=args.lang,
                          password=password(args, t))
    w = spec.texts("team", args.lang)
    print(w["upgrade_done"].format(version=result.version, file=result.output, changes=len(result.changes)))
    for c in result.changes:
        print("  " + " | ".join(str(x) for x in c.cells(w) if x not in ("", None)))
    return 0
