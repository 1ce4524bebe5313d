from csp.middleware import CSPMiddleware
from django.conf import settings
from django.utils import translation


class ChosenLanguageMiddleware:
    """Chinese unless the user picked another language with the switch (its cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language; staff share
    computers and residents' phones are set every which way, so the page language is a choice,
    not a guess.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer whose view did not make it public.

    Pages and API answers carry personal data; a shared computer's browser cache, a proxy or the
    back button must not keep them. A view that serves data meant for anyone (the mask open
    data) says so with `Cache-Control: public, ...`, which is kept. Static files never get here:
    WhiteNoise, placed before this middleware, answers them with its own long max-age.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        given = {part.split("=")[0].strip().lower() for part in response.get("Cache-Control", "").split(",")}
        if "public" not in given and "no-store" not in given:
            response["Cache-Control"] = "no-store"
        return response


class DocumentCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, for documents only. A policy governs what a page may load and
    run; a JSON, text or file answer is never rendered as a page (nosniff is on), and building
    the header costs about a quarter of an API answer's time at the round's opening burst."""

    def process_response(self, request, response):
        if not response.get("Content-Type", "").startswith(("text/html", "application/xhtml")):
            return response
        return super().process_response(request, response)
