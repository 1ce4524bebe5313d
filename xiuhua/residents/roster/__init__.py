"""Roster (花名册) import and export: the services behind the roster pages and commands.

An import goes: upload (the file is checked for shape and kept encrypted) -> validate (every
row is read, normalised and checked; problems are stored per row, counts computed, and the
normalised rows kept encrypted) -> commit (all or nothing, in one transaction, refused while
any row has a problem). Each step is an action of the import's declared state table
(xiuhua.residents.workflows); a step refused raises ValidationError. Large files are validated
and committed by the task worker (xiuhua.residents.tasks); the page polls `rows_done` /
`rows_total`.

    columns   the columns, the labels and values they accept, normalising typed text
    files     opening an upload (xlsx with python-calamine, CSV) into a Table
    checks    checking rows: RowChecker, Places, Problem
    plan      what committing rows would change (plan_rows), and writing it
    access    who may import where
    worker    what the services hand to the task worker: the encrypted payload, the task
    services  the roster_import_* services
    template  the template to fill in
    exports   exports, masked and audited
    prune     deleting what imports and exports leave behind (manage.py prune_rosters)

openpyxl writes the template and the exports.
"""

from .access import check_committee_access, importable_committees
from .columns import COLUMNS, Column
from .exports import ExportResult, export_filename, roster_export, roster_export_download, roster_export_run
from .files import RosterFileError, Table, open_table
from .prune import PruneResult, roster_prune
from .services import (
    earlier_commit,
    import_preview,
    roster_import_commit,
    roster_import_commit_run,
    roster_import_discard,
    roster_import_upload,
    roster_import_validate,
)
from .template import roster_template

__all__ = [
    "COLUMNS",
    "Column",
    "ExportResult",
    "PruneResult",
    "RosterFileError",
    "Table",
    "check_committee_access",
    "earlier_commit",
    "export_filename",
    "importable_committees",
    "open_table",
    "roster_export",
    "roster_export_download",
    "roster_export_run",
    "import_preview",
    "roster_import_commit",
    "roster_import_commit_run",
    "roster_import_discard",
    "roster_import_upload",
    "roster_import_validate",
    "roster_prune",
    "roster_template",
]
