"""One run's configuration: every rule and settings file loaded and checked once, before any data.

``RunConfig.load`` reads the input contract, the matching settings, the eligibility rules, the
parameters in force on the run date and the township gazetteer. A mistake in any of them raises a
``ConfigError`` naming the file (and rule or field) at once, not after an hour of matching; the
stages then take what they need from the one object instead of re-reading files.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.cases.config import CaseRules, load_case_rules
from pipeline.eligibility.requests import Lexicon, load_lexicon
from pipeline.eligibility.rules import Rule, RuleSet, load_rules
from pipeline.errors import ConfigError
from pipeline.match.settings import MatchSettings, load_matching
from pipeline.normalize.places import Gazetteer
from pipeline.params import Params, load_params
from pipeline.settings import Settings
from pipeline.sources import SourcesConfig, load_sources

#: The password key of the city's list of warnings no county could be found for.
UNRESOLVED_BOOK = "000000000"


@dataclass(frozen=True)
class RunConfig:
    settings: Settings  # where inputs, rules, outputs and state live; the run date
    sources: SourcesConfig
    matching: MatchSettings
    all_rules: RuleSet  # the whole rule file (the workbooks' 规则说明 lists every rule)
    rules: RuleSet  # the rules that run tonight (``rule_ids`` of them, or all)
    params: Params  # the values in force on the run date
    gazetteer: Gazetteer
    case_rules: CaseRules  # rules/cases.yaml: the case lifecycle and each rule's answers
    lexicon: Lexicon  # rules/hardship.yaml: how hotline requests and village reports are read
    passwords: dict[str, str] | None = None  # township code -> workbook password (AD_WORKBOOK_PASSWORDS)
    counties: tuple[str, ...] = ()  # only these counties (6-digit codes); empty: all
    rule_ids: tuple[str, ...] = ()  # only these rules; empty: all

    @property
    def whole_run(self) -> bool:
        """A run of every county and rule: only such runs count in the trend."""
        return not self.counties and not self.rule_ids

    @property
    def rules_by_id(self) -> dict[str, Rule]:
        """Every rule of the file (cases of a rule not run tonight still need theirs)."""
        return {r.id: r for r in self.all_rules.rules}

    @property
    def townships(self) -> dict[str, tuple[str, str]]:
        """Township code -> (county code, name), for routing and checking returned workbooks."""
        return {t.code: (t.county_code, t.name) for t in self.gazetteer.townships}

    @property
    def source_labels(self) -> dict[str, str]:
        return {s.key: s.label for s in self.sources.sources}

    @classmethod
    def load(
        cls, settings: Settings, counties: list[str] | None = None, rule_ids: list[str] | None = None
    ) -> RunConfig:
        sources = load_sources(settings.sources_file)
        all_rules = load_rules(settings.eligibility_file, {s.key for s in sources.sources})
        case_rules = load_case_rules(settings.cases_file)
        unknown = [
            f"{r.id}: answers `{r.answers}`"
            for r in all_rules.rules
            if r.answers not in case_rules.answer_sets
        ]
        if unknown:
            where = f"{settings.eligibility_file}: answer set(s) not in {settings.cases_file}"
            raise ConfigError(f"{where}: {'; '.join(unknown)}")
        gazetteer = Gazetteer.from_csv(settings.gazetteer_file)
        passwords = None
        if settings.passwords_file is not None:
            from pipeline.protect import load_passwords

            scope = [t for t in gazetteer.townships if not counties or t.county_code in counties]
            # Every township, each county's 未确定乡镇 list, and the city's 未确定区县 list (a hotline
            # caller whose address names no county).
            codes = {t.code for t in scope} | {f"{t.county_code}000" for t in scope} | {UNRESOLVED_BOOK}
            passwords = load_passwords(settings.passwords_file, codes)
        return cls(
            settings=settings,
            sources=sources,
            matching=load_matching(settings.matching_file),
            all_rules=all_rules,
            rules=all_rules.select(list(rule_ids) if rule_ids else None),
            params=load_params(settings.params_file, settings.run_date),
            gazetteer=gazetteer,
            case_rules=case_rules,
            lexicon=load_lexicon(settings.hardship_file),
            passwords=passwords,
            counties=tuple(counties or ()),
            rule_ids=tuple(rule_ids or ()),
        )
