"""Shared test settings: headless plotting, a bounded hypothesis profile, the slow marker."""
import matplotlib

# Headless plotting in the test process only. Not via MPLBACKEND: kernels started by the
# chapter tests inherit the environment, and Agg there would drop every inline figure.
matplotlib.use("Agg")

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "book", max_examples=40, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("book")


def pytest_configure(config):
    config.addinivalue_line("markers", "chapters: executes the book's chapter notebooks")
