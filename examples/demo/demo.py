"""monotrail's demo: rich, imported from the global store, no virtualenv anywhere."""
import sys
from importlib.metadata import version

from rich.console import Console
from rich.table import Table

table = Table(title="Running venv-less with monotrail")
table.add_column("what")
table.add_column("value")
table.add_row("python", sys.version.split()[0])
table.add_row("in a virtualenv", str(sys.prefix != sys.base_prefix))
table.add_row("rich", version("rich"))
table.add_row("rich imported from", __import__("rich").__file__.rsplit("/rich/", 1)[0])
Console(width=100).print(table)
