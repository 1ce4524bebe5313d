"""Private files (photos of signed pledges, of residents' requests): outside any URL, under
settings.PRIVATE_FILES_ROOT, served only by views that check scope and write an audit event."""

from django.conf import settings
from django.core.files.storage import FileSystemStorage


def private_storage() -> FileSystemStorage:
    return FileSystemStorage(location=settings.PRIVATE_FILES_ROOT, base_url=None)
