from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from certplatform.labels import KIND_LABELS, ROLE_LABELS, TIER_LABELS


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()])


class ActiveForm(FlaskForm):
    active = HiddenField()


class OrganizationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(_l("Short name (used in addresses)"), validators=[DataRequired(), Length(max=80)])
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k.value, label) for k, label in KIND_LABELS.items()])
    tier = SelectField(
        _l("Membership tier (companies)"),
        choices=[SelectChoice("", "—")] + [SelectChoice(t.value, label) for t, label in TIER_LABELS.items()],
    )


class MemberForm(FlaskForm):
    email = EmailField(_l("Email of the account to add"), validators=[DataRequired(), Length(max=254)])
    manages = BooleanField(_l("Manages this organization (its university administrator or company member)"))


class ManagesForm(FlaskForm):
    manages = HiddenField()
