from flask import Blueprint

bp = Blueprint("verify", __name__, url_prefix="/verify")
api_bp = Blueprint("api", __name__, url_prefix="/api/v1")


def verify_rate_limit():
    """The limit on public verification (pages and API alike), from configuration."""
    from flask import current_app

    from certplatform.extensions import limiter

    return limiter.limit(lambda: current_app.config["VERIFY_RATE_LIMIT"])


from certplatform.verify import api, views  # noqa: E402, F401
