"""How far a sandbox image build is, read from what its steps print: debootstrap, pip download, docker build.

A build is up to four steps (a base that exists already skips the first two). Each step's share of the whole is
the time it took in a measured build (README, "Grading"); within a step, a parser turns the lines it prints into
a fraction. The result only ever moves forward, so a step that starts over (pip's offline pass failing before
the download) never makes the bar go back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# Seconds each step took in the measured build of the triton-cpu image on a shared 2-core machine, from nothing
# (README, "Grading"): 252 s in all. "wheels" includes linking them into the build context.
WEIGHTS = {"debootstrap": 101.0, "import": 29.0, "wheels": 18.0, "docker build": 103.0}
PHASES = tuple(WEIGHTS)

# debootstrap --variant=minbase of bookworm with python3 retrieved 118 packages, 88 of them "required" (extracted
# and installed first, the rest make the base system). 118 is only the first guess, until the retrieval has ended.
EXPECTED_PACKAGES = 118
REQUIRED_SHARE = 88 / 118


class StepParser:
    """Turns one step's output lines into the fraction of that step done, in [0, 1]."""

    detail = ""

    def feed(self, line: str) -> float | None:  # pragma: no cover - interface
        raise NotImplementedError


# debootstrap's stages: (the headline that opens it, or the verb of its per-package lines, its name, where it began
# and ended in the measured run as fractions of debootstrap's time). Fetching and resolving the package lists took
# a fifth, installing two thirds. Within a stage, each package's line moves the bar by an even share.
_STAGES = (
    ("I: Retrieving InRelease", "fetching the package lists", 0.0, 0.025),
    ("I: Resolving dependencies of required packages", "resolving dependencies", 0.025, 0.075),
    ("I: Resolving dependencies of base packages", "resolving dependencies", 0.075, 0.18),
    ("I: Checking component", "resolving dependencies", 0.18, 0.195),
    ("Retrieving", "retrieving packages", 0.195, 0.26),
    ("Extracting", "extracting", 0.26, 0.36),
    ("I: Installing core packages", "installing core packages", 0.36, 0.47),
    ("I: Unpacking required packages", "unpacking required packages", 0.47, 0.73),
    ("I: Configuring required packages", "configuring required packages", 0.73, 0.77),
    ("I: Unpacking the base system", "unpacking the base system", 0.77, 0.94),
    ("I: Configuring the base system", "configuring the base system", 0.94, 1.0),
)
_PACKAGE_LINE = re.compile(
    r"^I: (Retrieving|Extracting|Unpacking|Configuring) (?!the )([a-z0-9][^ ]*?)(?:\.\.\.| \S+)$"
)


class DebootstrapParser(StepParser):
    """`debootstrap` prints a headline per stage (`I: Unpacking required packages...`) and a line per package."""

    def __init__(self, expected_packages: int = EXPECTED_PACKAGES) -> None:
        self.expected = expected_packages
        self.retrieved = 0
        self.extracted = 0
        self.stage = ("", "", 0.0, 0.0)
        self.count = 0  # packages seen in this stage
        self.detail = ""

    def _enter(self, stage: tuple[str, str, float, float]) -> float:
        self.stage, self.count, self.detail = stage, 0, stage[1]
        return stage[2]

    def _size(self) -> int:
        """How many packages the current stage handles."""
        name = self.stage[1]
        if name == "retrieving packages":
            return max(self.expected, self.retrieved + 1)
        required = self.extracted or round(REQUIRED_SHARE * self.retrieved)
        if name == "extracting":
            return max(round(REQUIRED_SHARE * self.retrieved), self.extracted + 1)
        if name.endswith("the base system"):
            return max(self.retrieved - required, 1)
        return max(required, 1)

    def feed(self, line: str) -> float | None:
        line = line.strip()
        if line == "I: Base system installed successfully.":
            self.detail = "base system installed"
            return 1.0
        for stage in _STAGES:
            if stage[0].startswith("I: ") and line.startswith(stage[0]):
                return self._enter(stage)
        match = _PACKAGE_LINE.match(line)
        if match is None or match.group(2) in ("InRelease", "Packages"):
            return None
        verb = match.group(1)
        if verb in ("Retrieving", "Extracting"):
            if self.stage[0] != verb:
                self._enter(next(s for s in _STAGES if s[0] == verb))
            if verb == "Retrieving":
                self.retrieved += 1
            else:
                self.extracted += 1
        self.count += 1
        self.detail = f"{self.stage[1]} ({self.count})"
        _, _, begin, end = self.stage
        return begin + (end - begin) * min(0.98, self.count / self._size())


# One line per requirement: `Collecting torch==2.13.0` from an index, `Processing /path/torch-....whl` from a
# local wheel store or the wheelhouse itself; then `Saved ...` per wheel and `Successfully downloaded ...`.
_RESOLVING = re.compile(r"^(?:Collecting (\S+)|Processing \S*/([^/\s]+?)-\d\S*\.whl)")
_SAVED = re.compile(r"^(?:Saved|File was already downloaded) \S*/([^/\s]+)$")


class PipDownloadParser(StepParser):
    """pip download: resolving each requirement (80 %), then saving each wheel, then the closing line."""

    def __init__(self, requirements: int) -> None:
        self.requirements = max(requirements, 1)
        self.resolved: set[str] = set()
        self.saved: set[str] = set()
        self.detail = ""

    def feed(self, line: str) -> float | None:
        line = line.strip()
        if line.startswith("Successfully downloaded"):
            self.detail = "wheels ready"
            return 1.0
        match = _RESOLVING.match(line)
        if match:
            name = (match.group(1) or match.group(2)).split("==")[0]
            self.resolved.add(name.lower().replace("_", "-"))
            self.detail = f"wheel {len(self.resolved)} of {self.requirements}: {name}"
            return 0.8 * min(1.0, len(self.resolved) / self.requirements)
        match = _SAVED.match(line)
        if match:
            self.saved.add(match.group(1))
            return 0.8 + 0.19 * min(1.0, len(self.saved) / self.requirements)
        return None


_STEP = re.compile(r"^Step (\d+)/(\d+) : (\S+)(.*)$")
_PROCESSING = re.compile(r"^Processing \S+\.whl")


def dockerfile_instructions(text: str) -> list[str]:
    """The Dockerfile's instructions as the builder counts its steps: one per logical line, comments dropped."""
    instructions: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            instructions.append(current.strip())
        current = ""
    if current.strip():
        instructions.append(current.strip())
    return instructions


def step_weight(instruction: str) -> float:
    """A step's expected share of the build: installing the wheels dominates, copying them comes second."""
    keyword, _, rest = instruction.partition(" ")
    keyword = keyword.upper()
    if keyword == "RUN":
        return 60.0 if "pip install" in rest else 3.0
    if keyword in ("COPY", "ADD"):
        return 8.0 if "wheels" in rest else 1.0
    return 0.2


class DockerBuildParser(StepParser):
    """The legacy builder's `Step N/M : INSTRUCTION`, weighted by instruction, and pip's lines inside a RUN."""

    def __init__(self, dockerfile: str, requirements: int) -> None:
        self.weights = [step_weight(i) for i in dockerfile_instructions(dockerfile)]
        self.requirements = max(requirements, 1)
        self.step = 0
        self.steps = len(self.weights)
        self.processed = 0
        self.detail = ""

    def _at(self, step: int, within: float) -> float:
        weights = self.weights
        if self.steps > len(weights):  # the builder appends a LABEL step for the labels the build passes
            weights = weights + [step_weight("LABEL")] * (self.steps - len(weights))
        if self.steps != len(weights) or not weights:  # a Dockerfile we could not count: even steps
            return (step - 1 + within) / max(self.steps, 1)
        return (sum(weights[: step - 1]) + weights[step - 1] * within) / sum(weights)

    def feed(self, line: str) -> float | None:
        line = line.strip()
        match = _STEP.match(line)
        if match:
            self.step, self.steps = int(match.group(1)), int(match.group(2))
            self.processed = 0
            self.detail = f"step {self.step} of {self.steps}: {match.group(3)}"
            return self._at(self.step, 0.0)
        if not self.step:
            return None
        if line.startswith("Successfully tagged") or line.startswith("Successfully built"):
            return 1.0 if line.startswith("Successfully tagged") else None
        # pip inside the RUN that installs the wheels, with where each line came in the measured run: the venv
        # first, the wheels, installing them, then removing them and committing a 2.5 GB layer (the last 45 %).
        if _PROCESSING.match(line):
            self.processed += 1
            return self._at(self.step, 0.13 + 0.03 * min(1.0, self.processed / self.requirements))
        if line.startswith("Installing collected packages"):
            return self._at(self.step, 0.16)
        if line.startswith("Successfully installed"):
            return self._at(self.step, 0.55)
        return None


class NoOutput(StepParser):
    """A step that prints nothing useful (tar and docker import): it is done when it ends."""

    detail = ""

    def feed(self, line: str) -> float | None:
        return None


Listener = Callable[["BuildProgress"], None]


@dataclass
class BuildProgress:
    """The whole build: which steps run, the current one and its fraction, the percentage over all of them."""

    phases: Sequence[str] = PHASES
    listener: Listener | None = None
    output: Callable[[str], None] | None = None  # hears every line as printed (a build log)
    weights: dict[str, float] = field(default_factory=lambda: dict(WEIGHTS))
    phase: str = ""
    detail: str = ""
    _done: set[str] = field(default_factory=set)
    _skipped: set[str] = field(default_factory=set)
    _fraction: float = 0.0
    _parser: StepParser | None = None
    _best: float = 0.0

    def skip(self, phase: str) -> None:
        """A step that is not needed (the base image exists already) no longer counts."""
        self._skipped.add(phase)
        self._notify()

    def begin(self, phase: str, parser: StepParser | None = None) -> None:
        self.phase, self._parser, self._fraction = phase, parser or NoOutput(), 0.0
        self.detail = ""
        self._notify()

    def feed(self, text: str) -> None:
        """One or more lines the current step printed."""
        if self.output is not None:
            self.output(text)
        if self._parser is None:
            return
        moved = False
        for line in text.splitlines():
            fraction = self._parser.feed(line)
            if fraction is not None and fraction > self._fraction:
                self._fraction = min(fraction, 1.0)
                moved = True
        if moved:
            self.detail = getattr(self._parser, "detail", "")[:120]
            self._notify()

    def end(self) -> None:
        if self.phase:
            self._done.add(self.phase)
        self._fraction, self._parser = 0.0, None
        self._notify()

    @property
    def fraction(self) -> float:
        counted = [p for p in self.phases if p not in self._skipped]
        total = sum(self.weights.get(p, 1.0) for p in counted)
        if not total:
            return 1.0
        done = sum(self.weights.get(p, 1.0) for p in counted if p in self._done)
        if self.phase in counted and self.phase not in self._done:
            done += self.weights.get(self.phase, 1.0) * self._fraction
        self._best = max(self._best, done / total)
        return self._best

    @property
    def percent(self) -> int:
        """Whole percent, 100 only when every step has ended."""
        counted = [p for p in self.phases if p not in self._skipped]
        if all(p in self._done for p in counted):
            return 100
        return min(99, int(self.fraction * 100))

    def _notify(self) -> None:
        if self.listener is not None:
            self.listener(self)
