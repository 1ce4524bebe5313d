"""Photos from phones (a resident's request, a signed pledge): judged from the file's header
before a pixel is decoded, then kept as a fresh JPEG without EXIF, at most 2000 px a side.

    images.photo_check(upload, max_bytes=5 * MB)      # bytes, format, dimensions; nothing decoded
    jpeg = images.photo_as_jpeg(upload, max_bytes=...)  # photo_check, then decode and re-encode

Both raise PhotoError, whose `code` ("too_big", "unreadable", "too_many_pixels") lets a page word
its own message. A 20 KB PNG may declare 13,000 x 13,000 pixels, a gigabyte once decoded into
RGB; Pillow's open() reads only the header, so the check costs next to nothing.
"""

from __future__ import annotations

import io
import uuid

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MB = 1024 * 1024
# A phone's photo at its default setting is 12 megapixels (4032 x 3024); the 48 and 50 MP modes
# give files past the upload limits anyway. 40 MP decodes to 160 MB at most (RGBA). Pillow is
# told the same at start-up (CoreConfig.ready): it warns past it and refuses past twice it, for
# any image opened anywhere.
MAX_PIXELS = 40_000_000
MAX_SIDE = 10_000
PHOTO_FORMATS = ("JPEG", "PNG")
PHOTO_MAX_SIDE = 2000

_UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError)


class PhotoError(ValidationError):
    """A photo that is not taken; the message is for the user, `code` says why."""


def _too_many_pixels() -> PhotoError:
    return PhotoError(_("照片像素过高(超过4000万像素),请用手机相机的默认设置重新拍摄"), code="too_many_pixels")


def _unreadable() -> PhotoError:
    return PhotoError(_("无法识别该照片,请上传JPG或PNG照片"), code="unreadable")


def photo_check(upload, *, max_bytes: int) -> None:
    """Refuse a photo over max_bytes, not a JPEG or PNG, or of more than MAX_PIXELS or a side over
    MAX_SIDE, from its size and header alone. The upload is left at its start."""
    if upload.size > max_bytes:
        raise PhotoError(_("照片超过%(mb)dMB,请重新拍摄") % {"mb": max_bytes // MB}, code="too_big")
    upload.seek(0)
    try:
        with Image.open(upload, formats=PHOTO_FORMATS) as probe:
            width, height = probe.size
    except Image.DecompressionBombError:
        raise _too_many_pixels() from None
    except _UNREADABLE:
        raise _unreadable() from None
    finally:
        upload.seek(0)
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise _too_many_pixels()


def jpeg_file(picture: Image.Image) -> ContentFile:
    """A fresh JPEG of an RGB picture: nothing of the original file (EXIF, text chunks) survives."""
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85)
    return ContentFile(out.getvalue(), name=f"{uuid.uuid4().hex}.jpg")


def photo_as_jpeg(upload, *, max_bytes: int) -> ContentFile:
    """A phone photo as a fresh JPEG: checked first (photo_check), turned upright, at most
    PHOTO_MAX_SIDE px a side, re-encoded without EXIF (a phone's EXIF holds where the photo was
    taken). A JPEG is decoded straight at a half, quarter or eighth of its size when that still
    fills the box, so a large photo never sits in memory at full size."""
    photo_check(upload, max_bytes=max_bytes)
    try:
        with Image.open(upload, formats=PHOTO_FORMATS) as image:
            image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            picture = ImageOps.exif_transpose(image).convert("RGB")
    except Image.DecompressionBombError:
        raise _too_many_pixels() from None
    except _UNREADABLE:
        raise _unreadable() from None
    return jpeg_file(picture)
