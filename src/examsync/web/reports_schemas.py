"""Response shapes of the reports (gradebook, results, item analysis, export), as served in the OpenAPI document.

The reports take no request body; their only inputs are the ids in the path and `format` in the query.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, Field

from examsync.web.ops_schemas import HistoryEntry

ReportFormat = Annotated[Literal["json", "csv"], Query(description="`json` (the default) or `csv`")]

Status = Literal["not_started", "active", "paused", "completed"]


class SubSkillScore(BaseModel):
    name: str
    correct: int
    total: int = Field(description="Questions of this sub-skill in the test")
    score: float
    max_score: float
    percent: float | None


class StudentResult(BaseModel):
    user_id: str
    display_name: str
    email: str
    status: Status = Field(description="Of the graded attempt: the highest-scoring completed one, else the latest "
                           "active one; `not_started` without any")
    session_id: str | None = Field(description="The graded attempt")
    attempts: int = Field(description="How many attempts the student started")
    score: float | None
    max_score: float | None
    percent: float | None
    submitted_at: int | None
    by_sub_skill: dict[str, SubSkillScore]


class Summary(BaseModel):
    count: int = Field(description="Students with a completed attempt")
    mean: float | None
    median: float | None
    stdev: float | None = Field(description="Sample standard deviation (n − 1); null under 2 students")
    min: float | None
    max: float | None


class ResultsOut(BaseModel):
    students: list[StudentResult]
    summary: Summary = Field(description="Of the students' percents (completed attempts only)")


class ChoiceStats(BaseModel):
    choice_id: str
    text: str
    correct: bool
    count: int
    share: float | None
    upper_share: float | None
    lower_share: float | None


class ItemOut(BaseModel):
    question_id: str
    section_id: str
    kind: str
    sub_skill: str
    stem_preview: str
    seen: int
    answered: int
    pending: int = Field(default=0, description="extended_text: answers awaiting marking, left out of every "
                         "statistic of the item (and of seen) until staff grade them")
    correct: int
    facility: float | None
    discrimination: float | None
    upper_lower: float | None
    choices: list[ChoiceStats]
    median_time_ms: int | None


class Cell(BaseModel):
    session_id: str | None
    status: Status
    percent: float | None


class GradebookAssignment(BaseModel):
    id: str
    test_id: str
    title: str
    opens_at: int
    closes_at: int | None


class GradebookStudent(BaseModel):
    user_id: str
    display_name: str
    email: str
    cells: dict[str, Cell] = Field(description="By assignment id: every assignment of the class")


class GradebookOut(BaseModel):
    assignments: list[GradebookAssignment]
    students: list[GradebookStudent]


class ExportedSession(BaseModel):
    id: str
    user_id: str
    status: str
    started_at: int
    completed_at: int | None
    last_activity_at: int
    time_multiplier: float
    untimed: bool
    closes_at: int | None
    score: dict[str, Any] | None
    last_seq: int
    last_hash: str
    chain: dict[str, Any] = Field(description="{intact, break}: whether the log's hash chain holds, and where not")
    sections: list[dict[str, Any]]
    log: list[HistoryEntry]


class AssignmentExport(BaseModel):
    format: Literal["examsync-assignment-export"]
    version: int
    exported_at: int
    assignment: dict[str, Any]
    test: dict[str, Any] | None
    students: list[dict[str, Any]]
    sessions: list[ExportedSession]
