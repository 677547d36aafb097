"""A small evaluator of CloudWatch metric alarms, for replaying scripted metrics through the
alarm definitions the app synthesizes. Used only by tests; the app never imports it.

It follows the CloudWatch user guide, "Using Amazon CloudWatch alarms":

- "Evaluating an alarm": Period, Evaluation Periods (N) and Datapoints to Alarm (M); the M
  breaching data points need not be consecutive, they must be among the last N.
- "Configuring how CloudWatch alarms treat missing data" and its section "How alarm state is
  evaluated when data is missing": CloudWatch retrieves more data points than N (the
  *evaluation range*; the guide's examples retrieve 5 for N = 3, and this evaluator retrieves
  N + 2); if at least N of them exist it judges the most recent N existing ones and the
  missing-data setting is not used; if fewer exist it fills the missing ones with the setting,
  as few as possible, keeping every real data point in the range; with none at all `missing`
  gives INSUFFICIENT_DATA, `ignore` keeps the state, `breaching` ALARM, `notBreaching` OK.
  The guide's two tables (3 of 3 and 2 of 3) are tests/infra/test_alarm_evaluator.py's cases,
  including "the oldest evaluated data point is breaching and there are no non-breaching data
  points" (ALARM even when missing data is treated as missing).
- "Alarms on math expressions" and "Metric math syntax and functions" (CloudWatch user guide,
  "Using metric math"): arithmetic `+ - * /`, comparisons `== != < <= > >=` and `AND`/`OR`
  give 1 or 0; `IF(condition, true, false)` (a non-zero condition is true); `FILL(m, value)`
  fills the missing data points of m with a number; `DIFF(m)` is m's data point minus its
  data point one period earlier, `RATE(m)` the same per second (the guide: "the difference
  between each value in the time series and the preceding value"; here the preceding value
  is the previous period's, so wrap m in FILL when it can have gaps). A data point missing from any operand is
  missing from the result (an expression's value exists only where its inputs exist); a
  division by zero gives no data point. Nothing else is supported: an unknown function raises
  ValueError, so an alarm the evaluator cannot read fails the test instead of passing.

Time is whole minutes. A metric holds at most one sample per minute (the AWS metrics used here
publish once a minute); a period's statistic (Sum, Maximum, Minimum, Average, SampleCount)
aggregates the samples of the minutes it covers. The alarm is evaluated at the end of every
minute t over periods ending at t (period k covers minutes t - (k+1)·P + 1 … t - k·P): the
earliest CloudWatch could see the data. Publication delays are modelled per sample: a sample
put with `delay=d` for minute m is visible to evaluations at minute m + d and later, so an
alarm sees a late source's recent minutes as missing (SQS's metrics arrive minutes after the
worker's log metrics, and a math expression over both has no data point until both arrived).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

OK, ALARM, INSUFFICIENT = "OK", "ALARM", "INSUFFICIENT_DATA"
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


# --- the documented state decision ------------------------------------------------------------

def evaluation_range_size(evaluation_periods: int) -> int:
    """How many periods CloudWatch retrieves: N + 2 (the guide's examples: 5 for N = 3)."""
    return evaluation_periods + 2


def alarm_state(points: list[bool | None], *, evaluation_periods: int, datapoints_to_alarm: int,
                treat_missing: str, current: str = INSUFFICIENT) -> str:
    """The new state from the evaluation range, oldest first: True = breaching, False = not
    breaching, None = missing ("How alarm state is evaluated when data is missing")."""
    if treat_missing not in TREATMENTS:
        raise ValueError(f"unknown missing-data treatment {treat_missing!r}")
    n, m = evaluation_periods, datapoints_to_alarm
    existing = [p for p in points if p is not None]
    if len(existing) >= n:
        # Enough real data points: the most recent N; the missing-data setting is not used.
        return ALARM if sum(existing[-n:]) >= m else OK
    fill = n - len(existing)
    if treat_missing == "breaching":
        return ALARM if sum(existing) + fill >= m else OK
    if treat_missing == "notBreaching":
        return ALARM if sum(existing) >= m else OK
    # missing / ignore: the filled data points are neither; real ones decide when they can.
    if not existing:
        return INSUFFICIENT if treat_missing == "missing" else current
    if sum(existing) >= m:
        return ALARM
    if not all(existing):
        return OK
    # Only breaching data points, fewer than M. "missing": ALARM when the oldest breaching one
    # is at least M periods old (no premature transition before that), else not enough data.
    if treat_missing == "ignore":
        return current
    oldest_age = len(points) - points.index(True)
    return ALARM if oldest_age >= m else INSUFFICIENT


# --- metric math ---------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<op>==|!=|<=|>=|[-+*/(),<>]))")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ValueError(f"cannot read {text[pos:]!r} in {text!r}")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


Value = float | None
# get(ident, back) = ident's data point `back` periods before the one being computed.
Getter = Callable[[str, int], Value]
Node = Callable[[Getter], Value]


def _arith(op: str, a: Value, b: Value) -> Value:
    if a is None or b is None:
        return None
    if op == "/":
        return None if b == 0 else a / b
    return {"+": a + b, "-": a - b, "*": a * b, "==": float(a == b), "!=": float(a != b),
            "<": float(a < b), "<=": float(a <= b), ">": float(a > b), ">=": float(a >= b),
            "AND": float(bool(a) and bool(b)), "OR": float(bool(a) or bool(b))}[op]


class _Parser:
    """Precedence, loosest first: OR; AND; comparisons; + -; * /; unary minus; atoms."""

    LEVELS = (("OR",), ("AND",), ("==", "!=", "<", "<=", ">", ">="), ("+", "-"), ("*", "/"))

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0

    def parse(self) -> Node:
        node = self._level(0)
        if self.pos != len(self.tokens):
            raise ValueError(f"unexpected {self.tokens[self.pos][1]!r} in {self.text!r}")
        return node

    def _peek(self) -> str | None:
        if self.pos >= len(self.tokens):
            return None
        kind, value = self.tokens[self.pos]
        return value.upper() if kind == "name" and value.upper() in ("AND", "OR") else value

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ValueError(f"{self.text!r} ends too early")
        token = self.tokens[self.pos]
        if expected is not None and token[1] != expected:
            raise ValueError(f"expected {expected!r}, got {token[1]!r} in {self.text!r}")
        self.pos += 1
        return token

    def _level(self, level: int) -> Node:
        if level == len(self.LEVELS):
            return self._unary()
        left = self._level(level + 1)
        while self._peek() in self.LEVELS[level]:
            op = self._peek()
            self._take()
            right = self._level(level + 1)
            left = (lambda lhs, rhs, o: lambda get: _arith(o, lhs(get), rhs(get)))(left, right, op)
        return left

    def _unary(self) -> Node:
        if self._peek() == "-":
            self._take()
            inner = self._unary()
            return lambda get: None if (v := inner(get)) is None else -v
        return self._atom()

    def _atom(self) -> Node:
        kind, value = self._take()
        if kind == "num":
            number = float(value)
            return lambda get: number
        if value == "(":
            node = self._level(0)
            self._take(")")
            return node
        if kind != "name":
            raise ValueError(f"unexpected {value!r} in {self.text!r}")
        if self._peek() != "(":
            return lambda get: get(value, 0)
        self._take("(")
        args = [self._level(0)]
        while self._peek() == ",":
            self._take()
            args.append(self._level(0))
        self._take(")")
        return self._function(value.upper(), args)

    def _function(self, name: str, args: list[Node]) -> Node:
        if name == "IF" and len(args) == 3:
            cond, yes, no = args

            def if_(get):
                c = cond(get)
                return None if c is None else (yes(get) if c != 0 else no(get))
            return if_
        if name == "FILL" and len(args) == 2:
            series, filler = args
            return lambda get: v if (v := series(get)) is not None else filler(get)
        if name in ("DIFF", "RATE") and len(args) == 1:
            (series,) = args
            per = 1.0 if name == "DIFF" else None

            def diff(get):
                now = series(get)
                before = series(lambda ident, back=0: get(ident, back + 1))
                if now is None or before is None:
                    return None
                # RATE divides by the period in seconds, which only the alarm knows.
                return (now - before) / (per or get("__period_seconds__", 0))
            return diff
        raise ValueError(f"unsupported metric math function {name}/{len(args)} in {self.text!r}")


def expression(text: str) -> Node:
    """A metric-math expression as a function of one data point per id (None = missing)."""
    return _Parser(text).parse()


# --- alarms from templates -----------------------------------------------------------------------

STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "Sum": sum, "Maximum": max, "Minimum": min, "SampleCount": len,
    "Average": lambda xs: sum(xs) / len(xs),
}

MetricKey = tuple[str, str, frozenset]   # namespace, metric name, dimensions


@dataclass(frozen=True)
class MetricQuery:
    key: MetricKey
    statistic: str
    period_minutes: int


@dataclass
class AlarmDefinition:
    """An `AWS::CloudWatch::Alarm`'s properties, with dimension values resolved to strings."""

    name: str
    threshold: float
    comparison: str
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing: str
    period_minutes: int
    metrics: dict[str, MetricQuery] = field(default_factory=dict)
    expressions: dict[str, Node] = field(default_factory=dict)
    result_id: str = ""

    @classmethod
    def from_properties(cls, props: dict, resolve: Callable[[object], str]) -> AlarmDefinition:
        """`resolve` turns a dimension value (a string or an intrinsic) into a string."""
        def query(metric: dict, stat: str, period: int) -> MetricQuery:
            if stat not in STATISTICS:
                raise ValueError(f"unsupported statistic {stat!r}")
            if period % 60:
                raise ValueError(f"period {period} is not whole minutes")
            dims = frozenset((d["Name"], resolve(d["Value"])) for d in metric.get("Dimensions", []))
            return MetricQuery((metric["Namespace"], metric["MetricName"], dims), stat, period // 60)

        n = props["EvaluationPeriods"]
        alarm = cls(name=props["AlarmName"], threshold=float(props["Threshold"]),
                    comparison=props["ComparisonOperator"], evaluation_periods=n,
                    datapoints_to_alarm=props.get("DatapointsToAlarm", n),
                    treat_missing=props.get("TreatMissingData", "missing"), period_minutes=0)
        if alarm.comparison not in COMPARISONS:
            raise ValueError(f"unsupported comparison {alarm.comparison!r}")
        if "Metrics" not in props:
            alarm.metrics["m"] = query(props, props["Statistic"], props["Period"])
            alarm.result_id = "m"
        else:
            for q in props["Metrics"]:
                if "Expression" in q:
                    alarm.expressions[q["Id"]] = expression(q["Expression"])
                else:
                    stat = q["MetricStat"]
                    alarm.metrics[q["Id"]] = query(stat["Metric"], stat["Stat"], stat["Period"])
                if q.get("ReturnData", True):
                    alarm.result_id = q["Id"]
        periods = {m.period_minutes for m in alarm.metrics.values()}
        if len(periods) != 1:
            raise ValueError(f"{alarm.name}: every metric of an alarm must use the same period")
        alarm.period_minutes = periods.pop()
        return alarm

    def value(self, store: MetricStore, first: int, last: int, as_of: int | None = None) -> Value:
        """The alarm's data point for minutes first..last (one period), from the samples that
        had arrived by minute `as_of` (None: all of them)."""
        return self.value_until(store, first, last, as_of)[0]

    def value_until(self, store: MetricStore, first: int, last: int,
                    as_of: int | None = None) -> tuple[Value, int | None]:
        """`value`, and the first minute after `as_of` at which a late sample of the periods it
        read arrives (None: none will), i.e. until when the data point stays what it is."""
        if not self.expressions:  # one metric, no math: the common case, without the closure
            q = self.metrics[self.result_id]
            return store.statistic_until(q.key, q.statistic, first, last, as_of)
        cache: dict[tuple[str, int], Value] = {}
        changes: list[int] = []
        p = self.period_minutes

        def get(ident: str, back: int = 0) -> Value:
            if ident == "__period_seconds__":
                return p * 60
            if (ident, back) not in cache:
                if ident in self.metrics:
                    q = self.metrics[ident]
                    cache[ident, back], change = store.statistic_until(
                        q.key, q.statistic, first - back * p, last - back * p, as_of)
                    if change is not None:
                        changes.append(change)
                elif ident in self.expressions:
                    cache[ident, back] = self.expressions[ident](
                        lambda i, b=0: get(i, back + b))
                else:
                    raise ValueError(f"{self.name}: unknown id {ident!r}")
            return cache[ident, back]
        return get(self.result_id), min(changes, default=None)

    def range_at(self, store: MetricStore, minute: int,
                 seen: dict[int, tuple[Value, int | None]] | None = None) -> list[bool | None]:
        """The evaluation range ending at `minute`, oldest first (True = breaching). `seen`
        keeps the data points already computed (by the last minute of their period), each with
        the minute a late sample changes it: a point is computed again only then, so a replay
        costs one computation per point and late arrival, not per point and minute."""
        p, breach, threshold = self.period_minutes, COMPARISONS[self.comparison], self.threshold
        seen = {} if seen is None else seen
        out = []
        oldest = minute - (evaluation_range_size(self.evaluation_periods) - 1) * p
        for last in range(oldest, minute + 1, p):
            # (value, minute a late sample changes it, breaching): the replay's hot loop.
            cached = seen.get(last)
            if cached is None or (cached[1] is not None and minute >= cached[1]):
                v, change = self.value_until(store, last - p + 1, last, as_of=minute)
                cached = seen[last] = (v, change, None if v is None else breach(v, threshold))
            out.append(cached[2])
        return out


class MetricStore:
    """Samples per metric and minute: store.put(key, minute, value, delay=minutes late)."""

    def __init__(self) -> None:
        self.samples: dict[MetricKey, dict[int, float]] = {}
        self.arrivals: dict[MetricKey, dict[int, int]] = {}

    def __deepcopy__(self, memo: dict) -> MetricStore:
        # Keys and values are immutable (tuples, numbers): copying each series' dict is a deep
        # copy, several times faster than deepcopy's walk over every sample (a replay copies
        # the day before for each scenario).
        copy = MetricStore()
        copy.samples = {key: dict(series) for key, series in self.samples.items()}
        copy.arrivals = {key: dict(series) for key, series in self.arrivals.items()}
        return copy

    def put(self, key: MetricKey, minute: int, value: float, delay: int = 0) -> None:
        self.samples.setdefault(key, {})[minute] = value
        self.arrivals.setdefault(key, {})[minute] = minute + delay

    def statistic(self, key: MetricKey, stat: str, first: int, last: int,
                  as_of: int | None = None) -> Value:
        return self.statistic_until(key, stat, first, last, as_of)[0]

    def statistic_until(self, key: MetricKey, stat: str, first: int, last: int,
                        as_of: int | None = None) -> tuple[Value, int | None]:
        """The statistic of the samples of minutes first..last that arrived by `as_of`, and the
        earliest later arrival of a sample of those minutes (None: every one has arrived)."""
        series, arrived = self.samples.get(key, {}), self.arrivals.get(key, {})
        values, later = [], None
        for t in range(first, last + 1):
            if t in series:
                if as_of is None or arrived[t] <= as_of:
                    values.append(series[t])
                elif later is None or arrived[t] < later:
                    later = arrived[t]
        return (STATISTICS[stat](values) if values else None), later


@dataclass(frozen=True)
class Transition:
    minute: int
    alarm: str
    state: str


@dataclass
class Evaluation:
    """Where `run_alarms` left off: each alarm's state and the data points it has computed, so
    that a later call continues (e.g. every scenario of a replay from one shared warm-up)."""

    state: dict[str, str] = field(default_factory=dict)
    seen: dict[str, dict] = field(default_factory=dict)

    def __deepcopy__(self, memo: dict) -> Evaluation:
        # The data points in `seen` are immutable (value, minute) tuples: see MetricStore's.
        return Evaluation(dict(self.state), {name: dict(points) for name, points in self.seen.items()})


def run_alarms(alarms: Iterable[AlarmDefinition], store: MetricStore,
               minutes: Iterable[int], evaluation: Evaluation | None = None) -> list[Transition]:
    """Evaluate every alarm at the end of each minute; return the state changes in order
    (every alarm starts in INSUFFICIENT_DATA, as a new alarm does, unless `evaluation` carries
    its state from an earlier call; `evaluation` is updated in place). The store must be
    complete for the minutes evaluated (data points are computed once)."""
    alarms = list(alarms)
    evaluation = Evaluation() if evaluation is None else evaluation
    state, seen = evaluation.state, evaluation.seen
    for a in alarms:
        state.setdefault(a.name, INSUFFICIENT)
        seen.setdefault(a.name, {})
    changes = []
    for minute in minutes:
        for a in alarms:
            points = a.range_at(store, minute, seen[a.name])
            new = alarm_state(points, evaluation_periods=a.evaluation_periods,
                              datapoints_to_alarm=a.datapoints_to_alarm,
                              treat_missing=a.treat_missing, current=state[a.name])
            if new != state[a.name]:
                state[a.name] = new
                changes.append(Transition(minute, a.name, new))
    return changes
