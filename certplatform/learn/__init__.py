from flask import Blueprint

bp = Blueprint("learn", __name__)

from certplatform.learn import views  # noqa: E402, F401
