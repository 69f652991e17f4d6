from flask import Blueprint

bp = Blueprint("main", __name__)

from certplatform.main import views  # noqa: E402, F401
