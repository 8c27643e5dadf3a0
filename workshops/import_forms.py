"""Forms of the import pages, and the person form a spreadsheet row is checked with."""
from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from workshops.forms import PersonForm
from workshops.models import ImportJob


class PersonRowForm(PersonForm):
    """A leader or member row: the web form's rules (身份证号 GB 11643, mobile, level), name and ID required."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.require_identity()
        return cleaned

    def rebind(self, data: dict[str, Any]) -> PersonRowForm:
        """Check the next row with this form. Cleaning changes no field and bound fields read `data` when
        asked, so the fields Form.__init__ deep-copies and their bound fields are made once per file, not
        once per row (they are most of a row's cost)."""
        self.data, self._errors = data, None
        return self


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("模板"), choices=ImportJob.Kind.choices)
    file = forms.FileField(label=_("填好的模板文件（.xlsx）"), error_messages={"required": _("请选择要上传的文件。")},
                           widget=forms.ClearableFileInput(attrs={
                               "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}))


class RunForm(forms.Form):
    mode = forms.ChoiceField(label=_("导入方式"), choices=ImportJob.Mode.choices,
                             error_messages={"required": _("请选择导入方式。")})
