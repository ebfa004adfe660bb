import pytest

from fraudwall.scoring.scorer import Scorer


@pytest.fixture(scope="session")
def scorer() -> Scorer:
    return Scorer()
