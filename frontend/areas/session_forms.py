"""Forms of the sessions area: they parse input shape; the rules stay in the services."""

import uuid
from datetime import date, datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime, parse_time

from observations.models import Channel, FieldNote, ObservationSession
from research.models import Participant, Project, User

DATETIME_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class SessionForm(forms.Form):
    title = forms.CharField(
        label="Title", max_length=200, help_text="For example: Saturday unboxing, Main St store."
    )
    site = forms.CharField(
        label="Site", max_length=200, required=False, help_text="Where: a store, a home, a URL."
    )
    channel = forms.ChoiceField(label="Channel", choices=Channel.choices, initial=Channel.STORE)
    journey_stage = forms.ChoiceField(label="Journey stage", required=False)
    started_at = forms.DateTimeField(
        label="Starts", input_formats=DATETIME_INPUT_FORMATS, widget=LocalDateTimeInput()
    )
    ended_at = forms.DateTimeField(
        label="Ends",
        required=False,
        input_formats=DATETIME_INPUT_FORMATS,
        widget=LocalDateTimeInput(),
    )
    observer = forms.ModelChoiceField(
        label="Observer", queryset=User.objects.none(), required=False, empty_label="Nobody yet"
    )
    participants = forms.ModelMultipleChoiceField(
        label="Participants present",
        queryset=Participant.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    context = forms.CharField(
        label="Context",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What is going on: the setting, the situation, anything unusual.",
    )
    goals = forms.CharField(
        label="Goals",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you want to learn from this session.",
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stages = list(project.journey_stages or [])
        field = self.fields["journey_stage"]
        assert isinstance(field, forms.ChoiceField)
        current = self.initial.get("journey_stage") or ""
        if current and current not in stages:
            stages.append(current)  # a stage since removed from the list stays selectable
        field.choices = [("", "Not set"), *((stage, stage) for stage in stages)]
        observer = self.fields["observer"]
        assert isinstance(observer, forms.ModelChoiceField)
        observer.queryset = User.objects.filter(memberships__project=project).order_by("username")
        participants = self.fields["participants"]
        assert isinstance(participants, forms.ModelMultipleChoiceField)
        participants.queryset = project.participants.all()

    @classmethod
    def initial_for(cls, session: ObservationSession) -> dict[str, Any]:
        return {
            "title": session.title,
            "site": session.site,
            "channel": session.channel,
            "journey_stage": session.journey_stage,
            "started_at": session.started_at,
            "ended_at": session.ended_at,
            "observer": session.observer_id,
            "participants": [p.pk for p in session.participants.all()],
            "context": session.context,
            "goals": session.goals,
        }


def participant_choices(session: ObservationSession) -> list[tuple[Any, str]]:
    """People present in the session first, then the rest of the project's participants."""
    present = list(session.participants.all())
    others = session.project.participants.exclude(pk__in=[p.pk for p in present])
    return [
        ("", "Nobody"),
        *((p.pk, p.pseudonym) for p in present),
        *((p.pk, f"{p.pseudonym} (not listed as present)") for p in others),
    ]


class NoteForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind",
        choices=FieldNote.Kind.choices,
        initial=FieldNote.Kind.OBSERVATION,
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label="Note", strip=False, widget=forms.Textarea(attrs={"rows": 5}), max_length=20_000
    )
    participant = forms.ModelChoiceField(
        label="Who", queryset=Participant.objects.none(), required=False, empty_label="Nobody"
    )
    observed_at = forms.CharField(
        label="Time",
        max_length=64,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    client_id = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, session: ObservationSession, day: date | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.day = day
        field = self.fields["participant"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = session.project.participants.all()
        field.choices = participant_choices(session)
        self.initial.setdefault("client_id", uuid.uuid4())

    def clean_observed_at(self) -> datetime:
        """The browser sends the exact moment as ISO 8601 with an offset; a plain form sends
        the time field's "HH:MM", which means that time on `day` (default today) in the server's
        time zone."""
        value = self.cleaned_data["observed_at"].strip()
        moment = parse_datetime(value)
        if moment is None:
            clock = parse_time(value)
            if clock is None:
                raise forms.ValidationError("Enter a time like 10:42.")
            moment = datetime.combine(self.day or timezone.localdate(), clock)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment


class JourneyStagesForm(forms.Form):
    stages = forms.CharField(
        label="Journey stages, one per line, in journey order",
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=(
            "Rename a stage by editing its line. Renaming or removing a stage does not change "
            "sessions already filed under it."
        ),
    )

    def clean_stages(self) -> list[str]:
        seen: list[str] = []
        for line in self.cleaned_data["stages"].splitlines():
            stage = " ".join(line.split())
            if len(stage) > 64:
                raise forms.ValidationError(f"“{stage[:20]}…” is longer than 64 characters.")
            if stage and stage not in seen:
                seen.append(stage)
        return seen
