"""The live table: its query, the shared live fragment, the kept page, the charts."""
