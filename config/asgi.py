import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

# Django's own handler, but reading no more of a body than XIUHUA_MAX_REQUEST_BYTES.
from xiuhua.core.request_size import SizeLimitedASGIHandler  # noqa: E402

application = SizeLimitedASGIHandler()
