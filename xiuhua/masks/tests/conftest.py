import pytest

from .fixtures import build_masks


@pytest.fixture
def masks(world):
    return build_masks(world)
