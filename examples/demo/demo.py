"""monotrail's demo: rich, imported from the global store, no virtualenv anywhere."""
import sys
from importlib.metadata import version

from rich.console import Console
from rich.table import Table

table = Table(title="Running venv-less with monotrail")
table.add_column("what")
table.add_column("value")
table.add_row("python", sys.version.split()[0])
# sys.prefix is monotrail's environment, a venv with nothing installed in it: rich is not copied there.
table.add_row("rich copied into a venv", str(__import__("rich").__file__.startswith(sys.prefix)))
table.add_row("rich", version("rich"))
table.add_row("rich imported from", __import__("rich").__file__.rsplit("/rich/", 1)[0])
Console(width=100).print(table)
