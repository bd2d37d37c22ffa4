"""/api/v1/charts: list, search, get and upsert charts by the EHR's identifier (scope charts:write)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from models import Chart
from services import api_reads, charts, db
from services.api_clients import Caller
from services.charts import ChartRow

from .auth import scope
from .common import Id, Page, Strict, as_json, call, list_route, page, resource_router

router = resource_router()


class ChartIn(Strict):
    external_id: str = Field(min_length=1, max_length=64, description="the EHR's identifier, e.g. the MRN")
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    date_of_birth: date | None = None
    email: str = Field('', max_length=254)
    phone: str = Field('', max_length=40)
    employer: str = Field('', max_length=200)


# a chart is answered as the service's charts.ChartRow (the API's contract is that shape: fields written once)

class ChartUpserted(BaseModel):
    chart: ChartRow
    created: bool


class ChartSearch(Strict):
    q: str = Field(max_length=100, description='name words, a date of birth (YYYY-MM-DD) or the external id')
    cursor: str | None = Field(None, max_length=100)
    limit: int = Field(50, ge=1, le=api_reads.MAX_LIMIT)


list_route(router, '/charts', 'charts:write', api_reads.list_charts, ChartRow, name='list_charts',
           summary='Charts (not merged), oldest first')


@router.post('/charts/search', response_model=Page[ChartRow],
             summary='Search charts (a POST, so names and MRNs stay out of URLs and access logs)')
def search_charts(body: ChartSearch, caller: Annotated[Caller, Depends(scope('charts:write'))]) -> Any:
    after = api_reads.decode_cursor(body.cursor)
    rows = call(api_reads.list_charts, caller, query=body.q, after_id=after, limit=body.limit)
    return page(rows, after, body.limit)


@router.get('/charts/{chart_id}', response_model=ChartRow, summary='One chart')
def get_chart(chart_id: Id, caller: Annotated[Caller, Depends(scope('charts:write'))]) -> Any:
    return call(charts.get_chart, caller, chart_id=chart_id)


@router.post('/charts/upsert', response_model=ChartUpserted,
             summary="Create (201) or update (200) the chart with the EHR's identifier (e.g. the MRN)")
def upsert_chart(body: ChartIn, caller: Annotated[Caller, Depends(scope('charts:write'))]) -> Any:
    def run(session, actor):
        chart_id, created = api_reads.upsert_chart(session, actor=actor, **body.model_dump())
        return charts.chart_row(session.get(Chart, chart_id)), created
    row, created = db.run(run, actor=caller.actor)
    return JSONResponse({'chart': as_json(asdict(row)), 'created': created}, status_code=201 if created else 200)
