from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from certplatform.models import ReviewDecision

DECISIONS = [
    SelectChoice(ReviewDecision.APPROVE.value, _l("Approve: certify the candidate")),
    SelectChoice(ReviewDecision.REQUEST_CHANGES.value, _l("Request changes: the candidate revises and resubmits")),
    SelectChoice(ReviewDecision.REJECT.value, _l("Reject")),
]


class DecisionForm(FlaskForm):
    """Scores come from radio buttons named score-<criterion>; the rest is here."""

    # No default: a mentor who forgets to choose is told so, rather than approving by accident.
    decision = RadioField(_l("Decision"), choices=DECISIONS, invalid_choice_message=_l("Choose a decision."))
    comment = TextAreaField(_l("Comment to the candidate"), validators=[Optional(), Length(max=10_000)])
    line_comments = TextAreaField(
        _l("Line comments, one per line: task:line: text (e.g. softmax:12: mask the last block)"),
        validators=[Optional(), Length(max=50_000)],
    )


class OverrideForm(FlaskForm):
    submit_name = "override-decision"
    decision = SelectField(_l("Decision"), choices=DECISIONS)
    reason = TextAreaField(_l("Reason (recorded in the audit log)"), validators=[DataRequired(), Length(max=2000)])


class ReassignForm(FlaskForm):
    submit_name = "reassign-email"
    email = EmailField(_l("Email of the mentor to take over"), validators=[DataRequired(), Length(max=254)])
    reason = TextAreaField(_l("Reason (recorded in the audit log)"), validators=[DataRequired(), Length(max=2000)])
