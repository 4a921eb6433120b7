"""The foundation every layer may import: exceptions, atomic output, safe XML, Excel names."""
