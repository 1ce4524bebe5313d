import pytest

from .fixtures import build_screening


@pytest.fixture
def screening(world):
    return build_screening(world)
