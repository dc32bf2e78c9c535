"""The request bodies of enrollment's HTTP API; the command line checks its files against them too."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from services.enrollment.usecases.registration import Application
from shared.api_contract import IsoDate, PlainText, Year
from shared.codes import EnrollmentKind, RefundReason
from shared.messages.envelope import ResidentIdStr


class BaselinePerson(BaseModel):
    id: str = Field(description="公民身份号码; checked per row so one bad ID does not refuse the list.")
    region: str | None = Field(None, description="Defaults to the credential's region; another region is refused.")
    township: str | None = Field(None, examples=["榴城镇"])
    village: str | None = Field(None, examples=["城关村"])
    name: str | None = None


class BaselineImport(BaseModel):
    source: PlainText = Field("public_security", description="Where the list comes from.")
    people: list[BaselinePerson] = Field(max_length=100_000)


class RosterPerson(BaseModel):
    id: str
    region: str | None = None
    employer: str | None = None
    # Text is judged per row (2024/11/5, 2024年11月5日 …); a bare number is no date and refuses the request.
    insured_from: str | IsoDate | None = Field(None, description="职工医保参保日期")
    insured_to: str | IsoDate | None = Field(None, description="停保日期; empty while insured")


class RosterImport(BaseModel):
    source: PlainText = Field("employee_insurance", description="Where the roster comes from.")
    people: list[RosterPerson] = Field(max_length=100_000)


class Registration(BaseModel):
    id: ResidentIdStr
    year: Year
    kind: EnrollmentKind = EnrollmentKind.GENERAL
    hukou_region: str | None = Field(None, pattern=r"^\d{6}$", description="户籍地; the baseline fills it in when known.")
    residence_region: str | None = Field(None, pattern=r"^\d{6}$", description="居住证所在地")
    school_region: str | None = Field(None, pattern=r"^\d{6}$", description="学校所在地 (students)")
    event_date: IsoDate | None = Field(None, description="Lapse, discharge, release, entry … as the kind needs.")
    registered_on: IsoDate | None = Field(None, description="Defaults to today (China).")
    enrolled_years: list[Year] = Field(default_factory=list, max_length=100, description="Earlier years with basic "
                                       "medical cover, as the national platform's record shows them: the gap before "
                                       "this year decides the waiting period and the critical-illness cap.")
    zero_reimbursement_years: list[Year] = Field(default_factory=list, max_length=100, description="Covered years "
                                                 "in which nothing was reimbursed (零报销: the cap is raised).")

    def application(self) -> Application:
        return Application(person_id=self.id, year=self.year, kind=self.kind.value, hukou_region=self.hukou_region,
                           residence_region=self.residence_region, school_region=self.school_region,
                           event_date=self.event_date, registered_on=self.registered_on,
                           enrolled_years=tuple(self.enrolled_years),
                           zero_reimbursement_years=tuple(self.zero_reimbursement_years))


class BulkRegistration(BaseModel):
    registrations: list[Registration] = Field(max_length=20_000)


class Ending(BaseModel):
    id: ResidentIdStr
    year: Year
    reason: Literal["death", "employee_insurance", "other_region"]
    ended_on: IsoDate


class RefundRequest(BaseModel):
    id: ResidentIdStr
    year: Year
    reason: RefundReason
    requested_on: IsoDate | None = Field(None, description="The day the request was lodged; defaults to today (China).")


class Advance(BaseModel):
    as_of: IsoDate | None = Field(None, description="Defaults to today (China).")


class PersonLookup(BaseModel):
    id: ResidentIdStr
