"""Private files (photos of signed pledges, of residents' requests): outside any URL, under
settings.PRIVATE_FILES_ROOT, served only by views that check scope and write an audit event.

On disk they are readable by the service's own user only: files 0600 in folders 0700, and the
root itself 0700, so files written before this rule (0644 in 0755 folders) are closed too.
"""

import stat
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage

FILE_MODE = 0o600
FOLDER_MODE = 0o700


class PrivateStorage(FileSystemStorage):
    def __init__(self) -> None:
        super().__init__(
            location=settings.PRIVATE_FILES_ROOT,
            base_url=None,
            file_permissions_mode=FILE_MODE,
            directory_permissions_mode=FOLDER_MODE,
        )
        # At start-up, so that an install's existing root is closed before anyone uploads.
        if Path(self.location).is_dir():
            self.close_root()

    def close_root(self) -> None:
        root = Path(self.location)
        root.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        if stat.S_IMODE(root.stat().st_mode) != FOLDER_MODE:
            root.chmod(FOLDER_MODE)

    def _save(self, name, content):
        self.close_root()
        return super()._save(name, content)


def private_storage() -> FileSystemStorage:
    return PrivateStorage()
