"""Explainable safeguarding signals: named phrase rules that say why a message was flagged.

A missed disclosure is the worst failure Heard can have, so these rules are broad and the
model behind them (see `models.py`) has a low, recall-tuned threshold. The rules still have
to keep quiet for everyday idiom — "this delay is killing me", "my mum will murder me if
I'm late lol" — and for harm that is over and dealt with ("I used to self-harm, two years
clean now"), because officers stop reading flags that cry wolf. So each match is checked
against its sentence: jokes, negations just before it, resolved-past wording and
news/fiction framing suppress it. Each rule is a *signal* named `category:what`, which is
what the queue shows.
"""

from __future__ import annotations

import re
import re._constants as _constants  # the pattern parser: see literal_prefixes
import re._parser as _parser
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

_PEOPLE = r"(?:me|us|him|her|them|my (?:little |baby |younger |big |older |twin )?(?:brother|sister|bro|sis|son|daughter|kids?|child|children|siblings?|mum|mom|mam|mother|nan))"


@dataclass(frozen=True)
class Rule:
    signal: str
    pattern: re.Pattern[str]
    adult_guard: bool  # not a child's risk when an adult writes about their own hardship
    keys: frozenset[str]  # a match holds one of these words (`=word`) or a word starting so (`~stem`)
    not_after: re.Pattern[str] | None  # a match right after this is about a thing, not a child


def _rule(signal: str, pattern: str, *, adult_guard: bool = False, not_after: str | None = None) -> Rule:
    prefixes = literal_prefixes(pattern)
    if not prefixes or not all(p[0].isalnum() for p in prefixes):
        raise ValueError(f"rule {signal}: every alternative must start with a word (the key-word gate needs it)")
    bounded = all(alt.startswith((r"\b", "(?<!")) for alt in _top_level_alternatives(pattern))
    keys = frozenset(_key(p, bounded) for p in prefixes)
    return Rule(signal, re.compile(pattern), adult_guard, keys, re.compile(not_after) if not_after else None)


def _top_level_alternatives(pattern: str) -> list[str]:
    parts, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*parts, pattern[start:]]


# Words too common to be worth checking for; a rule keys on a rarer word of its literal prefix.
_COMMON = frozenset(
    "a an the i im me my we us he she hes shes they them their his her him it its is was be been being am are "
    "do dont does doesnt did didnt have has had not no never on in of to for at by with and or if so "
    "just will would can cant could said says told tell want wants make made take took go going get got "
    "out up off all any one some only when what who this that there then than from about after into "
    # and words that are everywhere in complaints
    "home back come came money food care carer social worker since mum dad nan your going want take end "
    "here live nobody better without stuff things again still week weeks months school time help".split()
)


def _key(prefix: str, bounded: bool) -> str:
    """The most telling part of a literal prefix: `=word` (a whole word of the text), `+first second`
    (two whole words, one after the other) or `~stem` (the start, ≤ 4 characters, of a word).
    A text can hold a match only if it has the key.

    Two words beat one ("havent had" rather than "had"); rarer and longer words beat common,
    short ones: every text that holds a key costs a look at the rule."""
    parts = prefix.split(" ")
    # (key, rare words, whole words, length, position); the first part is whole only after \b and a
    # space, the last only when a space follows it (then it is "", not alphanumeric)
    whole = [(i, w) for i, w in enumerate(parts[:-1]) if w.isalnum() and (i > 0 or bounded)]
    choices = [("=" + w, int(w not in _COMMON), 1, len(w), i) for i, w in whole]
    choices += [
        (f"+{w} {v}", int(w not in _COMMON) + int(v not in _COMMON), 2, len(w) + len(v), i)
        for (i, w), (j, v) in zip(whole, whole[1:])
        if j == i + 1
    ]
    for i in {0, len(parts) - 1}:
        if parts[i].isalnum() and not (i == 0 and len(parts) > 1 and bounded):
            choices.append(("~" + parts[i][:4], int(parts[i] not in _COMMON), 1, min(len(parts[i]), 4), i))
    return max(choices, key=lambda c: c[1:])[0]


def literal_prefixes(pattern: str, limit: int = 2000) -> set[str] | None:
    """Strings one of which starts every match of `pattern` (None if some match could start anywhere).

    Read off the parsed pattern: assertions are skipped, literals and alternations expanded,
    stopping at `limit` alternatives. This lets `find_signals` skip most rules with a set look-up,
    which is what keeps the rules under the per-message time budget."""
    prefixes, _complete = _prefixes(list(_parser.parse(pattern)), limit)
    return None if any(len(p) < 2 for p in prefixes) else prefixes  # too short to be worth a look-up


def _prefixes(items: list, limit: int) -> tuple[set[str], bool]:  # type: ignore[type-arg]
    """(prefixes, complete): every match of `items` starts with one of the prefixes; complete
    when the items match exactly those strings (so what follows can be appended)."""
    result = {""}
    for op, av in items:
        if len(result) > limit:
            return result, False  # long enough: more alternatives would not make the check faster
        if op in (_constants.AT, _constants.ASSERT, _constants.ASSERT_NOT):
            continue  # assertions consume nothing
        if op is _constants.LITERAL:
            result = {p + chr(av) for p in result}
            continue
        if op is _constants.SUBPATTERN:
            strings, complete = _prefixes(list(av[-1]), limit)
        elif op is _constants.IN and all(kind is _constants.LITERAL for kind, _ in av):
            strings, complete = {chr(c) for _, c in av}, True  # (?:a|b) of single characters
        elif op is _constants.BRANCH:
            branches = [_prefixes(list(b), limit) for b in av[1]]
            strings, complete = set().union(*(b[0] for b in branches)), all(b[1] for b in branches)
        else:
            return result, False  # a class, a repeat, …: the prefix stops here
        result = {p + q for p in result for q in strings}
        if not complete:
            return result, False
    return result, True


RULES: tuple[Rule, ...] = (
    # physical abuse
    _rule("disclosure:hit_me", r"\b(?:hits?|hitting|punch(?:es|ed|ing)?|kick(?:s|ed|ing)?(?= \w+ (?!out\b|off\b))|slap(?:s|ped|ping)?|backhand(?:s|ed|ing)?|beats?|beating|whack(?:s|ed|ing)?|smack(?:s|ed|ing)?|thump(?:s|ed|ing)?|batter(?:s|ed|ing)?|strangl(?:es|ed|ing)|chok(?:es|ed|ing)|shov(?:es|ed|ing)|push(?:es|ed)|throttl\w*|grab(?:s|bed)|yank(?:s|ed)|twist(?:s|ed)|pinch(?:es|ed)|burn(?:s|ed|t)|scratch(?:es|ed)|restrain(?:s|ed)|drags?|dragged|squeez(?:es|ed)) (?:" + _PEOPLE + r"|(?:the back of )?(?:my|her|his|ur|your) (?:hair|arms?|wrists?|neck|legs?|face|head|throat|ears?))\b|\bby the (?:throat|neck|hair)\b|\bpull(?:s|ed|ing)? (?:my|her|his|ur|your) hair\b(?! out)|\b(?:slap|hit|punch|smack|whack|thump|clip)(?:s|ped|ping|ed|ing)? (?:you|u) (?:round|across|on|in) the (?:head|face|ear|mouth)\b", not_after=r"\b(?:i|ive|i have|i just|i accidentally|i even|i barely(?: even)?)\s*$"),
    _rule("disclosure:hurts_me", r"(?<!it )(?<!that )(?<!this )(?<!which )(?<!anyone )(?<!anybody )\b(?:hurts|hurting) " + _PEOPLE + r"\b"),
    _rule("disclosure:hit_by", r"\b(?:hit|punched|kicked|slapped|beaten|beat up|attacked|assaulted|strangled|choked|smacked|burned|burnt|shoved|restrained|bitten) by\b(?! (?:a |the )?(?:ball|football|rugby ball|cricket ball|hockey stick|swing|door|car|bike|bus|van))"),
    _rule("disclosure:got_hit", r"\b(?:i|he|she|we) (?:got|get|gets) (?:hit|beaten|battered|slapped|punched|kicked|hurt)\b(?! off| out| by (?:a |the )?(?:ball|football|rugby ball|cricket ball|hockey stick|swing|door|car|bike|bus|van))(?!.{0,80}\b(?:boxing|sparring|kickboxing|mma|judo|karate|rugby)\b)|\b(?:was|were|been|got|get|gets|getting) (?:beaten|beat|battered) up\b"),
    _rule("disclosure:implement", r"\b(?:belt|wooden spoon|hairbrush|slipper|phone cable|cable|stick|wire|lighter|iron) on (?:me|us|him|her)\b|\b(?:me|us|him|her|them) with (?:a|the|his|her|their) (?:belt|wooden spoon|spoon|hairbrush|slipper|cable|stick|wire|shoe|lead)\b"),
    _rule("injury:marks", r"\b(?:bruis(?:e|es|ed|ing)|black eye|finger ?marks|hand ?mark|red marks?|marks on (?:my|his|her|their)|welts?|cut lip|burn marks?|cuts (?:he|she) (?:wont|will not|cant) explain)\b(?!(?: \w+){0,3} (?:(?:from|at|in|playing|doing|during) (?:the |a |her |his |my )?)?(?:swing|slide|football|rugby|pe|trampoline|scooter|bike|fall|falling|playing|netball|hockey|boxing|sparring|paintball|cricket|skateboard\w*|skatepark|training|gym))"),
    _rule("abuse:cruel_words", r"\bsomething to cry about\b|\bhumiliat(?:es|ed|ing) (?:me|us|her|him|them)\b|\bcalls? (?:me|her|him) (?:a )?(?:slag|slut|whore|retard|thick|fat|ugly)\b|\bas a punishment\b|\bwish(?:es)? (?:i|you|he|she) (?:was|were|had) never (?:been )?born\b|\bwaste of space\b|\bno one will believe\b|\bnobody will believe\b"),
    _rule("disclosure:secrecy", r"\b(?:dont|do not|please dont|pls dont|not to) tell (?:him|her|them|anyone|any1|my (?:mum|dad|carer|foster \w+|step \w+|nan))\b|\b(?:told|tells) (?:me|us|her|him) not to tell\b|\bif (?:i|you|she|he) (?:tell|tells|grass|grasses)\b|\bnot tell (?:him|her) it was me\b|\bsaid it was (?:our|a) secret\b"),
    _rule("disclosure:not_safe", r"\b(?:dont|do not|never|not) feel safe\b|\b(?:im|i am|were|we are|hes|shes|they are|theyre) not safe\b(?! to (?:ask|say|talk|mention|tell)\b)|\bnot safe (?:at home|here|there|with)\b|\bunsafe\b"),
    _rule("disclosure:scared_to_go_home", r"\b(?:dont|do not|dont ever) (?:want to|wanna) go (?:back |)(?:home|there|back)\b(?! to (?:that|the|my old|this|that same) (?:area|school|college|town|city|estate|club|gym|class|unit|team|job|course|dentist|doctors?|group)\b)|\bdont make me go back\b|\b(?:scared|afraid|frightened|terrified|petrified) (?:to go (?:home|back)|of (?:him|her|my (?:dad|mum|step ?dad|step ?mum|carer|foster \w+|brother|uncle))|at home|when he|when she|hell do it)\b"),
    # sexual abuse and exploitation
    _rule("sexual:touching", r"\b(?:strok(?:es|ed|ing) (?:her|his|my) (?:leg|legs|thigh|thighs|bum|hair|face|back|knee)|touch(?:es|ed|ing)? (?:me|her|him)|sexual(?:ly)? (?:abus\w+|assault\w*)|rap(?:e|ed|ing)|(?<!non-)(?<!non )molest\w*|inappropriate(?:ly)? touch\w*|(?:come|comes) into my (?:room|bed) at night|(?:get|gets) into my bed)\b"),
    _rule("sexual:images", r"\b(?:pics|pictures|photos|videos|images) of (?:myself|ourselves|themselves)\b|\b(?:send|sent|sending|asking for|asks for|want|wants) (?:me |her |)(?:more |naked |nude |)(?:pics|videos)\b|\bnudes?\b|\bintimate (?:images|photos|pictures)\b|\bon camera\b|\bfilm(?:s|ed|ing)? (?:us|me|her|stuff)\b|\bmoney for pics\b|\bsend more\b|\b(?:tells|told|makes|made|asks|asked) (?:me|her|him) to take (?:my|her|his) (?:top|clothes|pants|knickers|trousers|shorts) off\b|\bsharing (?:pictures|pics|photos|images|videos) of (?:her|him|me|us)\b|\b(?:send|sends|sent|sending) (?:her|him|me|us) gifts to\b|\b(?:dance|dances|dancing|pose|posing|strip|stripping)(?: \w+){0,2} in (?:her|his|my|their) (?:underwear|bra|knickers)\b"),
    _rule("sexual:older_men", r"\b(?:older|grown|adult) (?:men|man|lads?|guys|males?|boys)\b|\b(?:with|brings?|brought) different (?:teenage |young )?girls\b|\b(?:men|man|guy|guys) in (?:their|his) (?:twenties|thirties|forties|20s|30s|40s)\b|\bsugar daddy\b|\bgrown man\b|\bno older than 1[0-5]\b|\bmet (?:\w+ )?online\b|\bpeople i (?:know|met) from (?:snap|insta|online|tiktok)\b|\bstaying with (?:adults|men|a man|people)\b|\b(?:getting|got|gets|get) into cars with\b|\bpassed (?:round|around) (?:to |between |by )?(?:a |an |his |their |the |older |other )?(?:mates|friends|man|men|lads|boys|guys)\b|\bgroom(?:ed|ing)\b"),
    _rule("sexual:owes_him", r"\b(?:i|you|she|he|we) owes? (?:him|them|these|those|the)\b|\bpay (?:him|them|it) back in other ways\b|\bdo (?:stuff|things|jobs) for (?:them|him)\b|\b(?:make|makes) me do (?:stuff|things)\b|\bbe nice to (?:their|his) mates\b|\bwork it off\b|\bpay (?:off )?the debt\b"),
    _rule("exploitation:gifts", r"\b(?:gives?|giving|gave|buys?|bought|bringing|brings?) (?:us|me|her|him)(?: and (?:her |his |my |their )?(?:friends|mates))? (?:free )?(?:vodka|drinks?|alcohol|weed|drugs|cigs|cigarettes|lifts?|money to)\b|\bfree (?:lifts|weed|vodka|drugs|cigs)\b|\bmoney (?:she|he) (?:cant|cannot|can not|wont) explain\b|\bbring (?:my|a) (?:friend|mate)s? next time\b|\bgot £\d+ to (?:go|stay|come)\b|\boffer(?:s|ed)? (?:me|her|him|us) £?\d+ to (?:go|come|meet|stay|get in)\b"),
    _rule("sexual:boyfriend_age", r"\bboyfriend(?: \w+){0,4} (?:is|hes) (?:1[89]|2\d|3\d|4\d)\b|\b(?:boyfriend|bf|he|hes|man) (?:is |s )?(?:1[89]|2\d|3\d|4\d)\b(?! (?:weeks|days|months|years|times|mins|minutes|hours|miles|pounds))", not_after=r"\b(?:till|until|til|when|before|once|turns)\s*$"),
    # criminal exploitation
    _rule("exploitation:county_lines", r"\b(?:packages|parcels|a parcel|a package)(?: \w+){0,4} (?:to|at) (?:different|an|other) address(?:es)?\b|\bcounty lines?\b|\b(?:the|a) gang (?:found|want|wants|made|makes|sent|says|said|told)\b|\btrap(?: house)?\b|\bshotting\b|\b(?:run|running|carry|carrying|hold|holding|store|storing|sell|selling|deliver\w*|stash\w*) (?:drugs|packages?|parcels|stuff|weed) for\b|\bsell(?:ing)? (?:drugs|weed|stuff|from)\b|\b(?:keep|keeping|hold|holding|store|storing) (?:a |the |their |his )?(?:stuff|things|bags?|packages?)(?: \w+){0,3} for (?:some |these |those )?(?:people|lads|men|them|him)\b|\bbeing kept in\b|\b(?:made|make|makes|making) (?:me|him|her) (?:carry|sell|hold|store|deliver|do (?:a|the) (?:run|robbery))\b|\ba drop\b|\bmade to (?:carry|sell|hold|store|deliver)\b|\bbeing (?:taxed|used|exploited)\b|\bexploiting (?:him|her|them)\b|\bdo a run\b"),
    _rule("threats:weapon", r"\bstab(?:s|bed|bing)?\b|\b(?:got|has|had|have|carry|carries|carrying|pulled|pulls|holding|hold|with|bring|brings|bringing) (?:a|his|her|their)(?: \w+){0,2} (?:knife|blade|machete|gun|shank)\b|\bknife to\b|\bknives? (?:on|at) (?:me|him|her)\b"),
    # neglect and deprivation
    _rule("neglect:no_food", r"\b(?:she|he|they|the baby|the kids|my \w+) (?:has |have )?(?:only )?had (?:a |an |one |some )?(?:\w+ )?(?:today|all day|since yesterday) and (?:thats|that was|that is) all\b|\b(?:no|never any|not any|isnt any) (?:food|tea|dinner|breakfast|meals?)\b(?! in (?:(?:your|my|our|the|their) )?(?:bed)?rooms?\b| upstairs\b| after \d| (?:was |is |are |were )?allowed\b)|\bnothing (?:to eat|in the (?:cupboards|fridge|house))\b|\b(?:havent|hasnt|have not|has not|not) (?:eaten|had (?:anything to eat|any food|a (?:proper )?meal|tea|dinner))\b|\b(?:go|goes|going|went) hungry\b|\bhungry all the time\b|\b(?:very|really|so|always) hungry\b|\bfood out of (?:the )?bins\b|\bthrough (?:the )?(?:\w+ )?bins for food\b|\bonly food (?:i|we) get\b|\blost (?:loads of|a lot of|so much) weight\b|\bweight (?:has )?(?:dropped|fallen)\b", adult_guard=True),
    _rule("neglect:home_conditions", r"\bhardly any (?:formula|milk)\b|\bno (?:gas|electric|electricity|heating|hot water)\b|\bblack mould\b|\bdog (?:mess|poo|faeces|feces|dirt)\b|\b(?:mice|rats|cockroaches) everywhere\b|\bfilthy\b|\bno clean clothes\b|\bsleeping in (?:\w+ ){0,2}car\b|\bno bedding\b|\bhead ?lice\b|\bnits\b|\bsoiled\b|\bsame (?:soaked |wet |dirty |soiled )?(?:nappy|pad|clothes|uniform) (?:all|for|from)\b|\b(?:nappy|nappies|pad) (?:\w+ ){0,3}(?:not|never|hadnt|hasnt) (?:been )?changed\b|\bspends? my (?:\w+ |)(?:money|allowance) on (?:her|his|their) own\b|\btrainers have holes\b|\bholes in (?:my|his|her) (?:shoes|trainers)\b", adult_guard=True),
    _rule("neglect:left_alone", r"\b(?:leaves?|left|leaving) (?:me|us|him|her|them|my \w+(?: \w+)?|the kids|the children)(?: \w+){0,4} (?:on (?:my|our|their|his|her) own|alone|by (?:myself|ourselves|themselves))\b|\bhome alone\b|\bin charge of (?:\w+ )?(?:younger|little|my)\b|\bout on the streets? (?:till|until|at)\b|\b(?:not|hasnt|havent) (?:been|come) (?:back|home) (?:since|for)\b|\bnobody (?:is )?(?:at )?home\b|\b(?:no one|nobody|noone) looks after (?:us|me|them|him|her)\b|\b(?:never|dont|doesnt|no one|nobody) checks? on (?:us|me|them|him|her)\b|\bhavent seen (?:staff|anyone|an adult)(?: \w+){0,3} (?:for|since)\b|\ba man i dont know\b"),
    _rule("neglect:carer_incapable", r"\b(?:drunk|drinking|off (?:her|his) (?:face|head)|(?<!grow )(?<!grows )(?<!grown )(?<!growing )(?<!get )(?<!got )(?<!stay )(?<!keep )(?<!kept )(?<!left )(?<!leave )(?<!talk )(?<!talked )out of it|passed out|cant wake (?:her|him)|on drugs|using (?:drugs|again)|asleep (?:on|all)|sleeps all day|left the gas on|getting really confused)\b|\bforgets (?:to feed|we need (?:tea|food|dinner))\b", adult_guard=True),
    _rule("neglect:medical", r"\b(?:lips|face|fingers) (?:went|go|goes|going|turned|turning|turn|are|were|was|is) (?:a bit |slightly |really |all |a little )?blue\b|\b(?:wont|never|doesnt|refuses to|hasnt|no ones|nobody has|no one has) (?:take|taken|took) (?:me|him|her|us) to (?:the )?(?:doctors?|dentists?|hospital|gp|a&e)\b|\b(?:says|said) (?:the )?(?:dentists?|doctors|opticians?|glasses) (?:cost|costs) (?:too much|money|a fortune)\b|\bno money for (?:a |the )?(?:dentist|doctor|optician|glasses)\b|\buntreated (?:tooth|teeth|toothache|pain|infection|injury|wound|burn)\b|\b(?:medication|medicine|inhaler|insulin)\b.{0,40}\b(?:ran out|not given|without|missed|hasnt had|run out)\b|\bwithout (?:having had |)(?:his|her|my|their) (?:\w+ |)(?:medication|medicine|inhaler|insulin)\b|\b(?:not|never|wont|forget(?:s|ting)? to|forgot to|keep not) (?:buy(?:ing)?|get(?:ting)?|order(?:ing)?|collect(?:ing)?|giv(?:e|ing) (?:me|him|her)) (?:my|his|her) (?:insulin|inhaler|medication|medicine|epipen|meds)\b"),
    _rule("locked:locked_in", r"\b(?:locks?|locked|locking|shuts?|shutting) (?:me|us|him|her|them|my \w+)(?: \w+){0,2} (?:in|out)\b|\blocked in\b|\bshut in\b|\b(?:locks?|locked|locking) (?:the )?(?:fridge|cupboards|food)\b|\bhandle off\b|\bin a bucket\b|\bnot allowed out of (?:my|the|his|her) room\b|\b(?:wont|doesnt|dont) let (?:me|us|her|him) (?:out of the house|leave the house|out at all)\b|\bwindows (?:are |have been )?(?:screwed|nailed|locked) shut\b|\bagree to (?:the|a|this) (?:wedding|marriage)\b|\bforced (?:to )?(?:marry|marriage)\b|\bnot allowed to eat\b|\block(?:s|ed|ing)? the kitchen when\b|\bkitchen locked\b|\bkept in (?:the|their|my|his|her) (?:bedroom|room)\b|\bkeeps? (?:me|us|him|her) in (?:the house|my room|his room|her room)\b|\bdont get (?:tea|food|dinner)\b|\b(?:take|takes|took|taking) (?:my|his|her) food\b|\bfood (?:off me )?as (?:a )?punishment\b|\bearn (?:my|his|her) (?:tea|food|dinner)\b|\bwithout (?:any |)(?:food|tea|dinner|breakfast)\b|\bstopped giving (?:me|us|him|her|them) (?:any )?(?:food|breakfast|tea|dinner|lunch|meals)\b"),
    # self-harm and suicide
    _rule("self_harm:dont_want_to_be_here", r"\b(?:dont|do not) want to (?:be here|be alive|live|exist|wake up)\b(?! with| in | at | there| here| near| somewhere| on | together| back| so | like | far| anywhere)|\bwanna die\b(?! inside| of)|\bwants? to die\b(?! inside| of)|\bwish (?:i|id) (?:was|were) dead\b|\brather be dead\b|\bbetter off (?:dead|without me)\b|\b(?:end|ending) (?:it all|my life|her life|his life|it tbh)\b|\b(?:im|i am|thinking (?:of|about)|think about|just|tonight) ending it\b|\bkill (?:myself|herself|himself)\b(?! laughing)|\bsuicid\w*\b|\btake (?:my|her|his) (?:own |)life\b|\bnot wake up\b|\bwont be (?:around|here)\b(?! forever)|\bgoodbye (?:letters?|notes?|messages?|texts?|msgs?|videos?)\b(?! from)|\bligature\b|\bon the bridge\b|\bsaying goodbye to everyone\b|\bnobody would miss me\b|\bjust want to disappear\b|\b(?:wrote|written|writing) (?:letters|notes) (?:for|to) (?:everyone|everybody|my (?:mum|family|friends))\b|\bunaliv(?:e|ing|ed)\b"),
    _rule("self_harm:hurting_myself", r"\b(?:cut(?:ting)? (?:myself|herself|himself)|(?<!old )(?<!past )(?<!previous )(?<!history of )self[- ]?harm\w*|harm(?:ing)? (?:myself|herself|himself)|hurt(?:ing)? (?:myself|herself|himself)|burn(?:ing|t|s)? (?:my|her|his) (?:arms?|wrists?|thighs?|skin|legs|stomach)|started cutting|cutting again|overdos\w*|(?<!lock up the )(?<!locked up the )(?<!lock away the )(?<!locked away the )(?<!lock up all the )paracetamol|tablets saved|(?:my|the) blades|scratching my arms|make myself sick)\b"),
    # missing
    _rule("missing:gone_missing", r"\b(?:ran|run|running) (?:away )?from (?:the|my|his|her) (?:new )?(?:placement|home|foster|carers)\b|\blegged it\b|\b(?:does not|doesnt|dont|do not) know where (?:she|he) is\b|\b(?:gone|go|going|went|goes|run|ran|running|runs) missing\b|\b(?:run|ran|running|runs) away\b|(?<!we )(?<!i )\b(?:gone|go|going|went|goes) away\b(?! (?:on|for) (?:holiday|a holiday|the weekend|half term|a (?:few days|week|break))| in (?:the )?(?:summer|august|july|half term|the holidays))|\b(?:run|ran|running|runs) off\b|\breported (?:\w+ )?missing\b|\b(?:been|is|was) missing\b|\bmissing from (?:home|care|the home|(?:his|her|their|the) (?:placement|home|foster))\b(?! team)|\bsleeping (?:rough|on the streets|in (?:a|the) (?:park|bus shelter|stairwell|tent|car))\b|\bslept in (?:a|the) (?:stairwell|park|car|tent)\b|\bdont want to be found\b|\bno one will find me\b|\bhavent been home\b|\bbeen gone (?:\d|for)\b|\bwalked out (?:a|two|three|last|after)\b|\baway from (?:her|his|my|the) (?:placement|home) for\b|\bdont know where to go\b|\bstopping at a house\b|\bill (?:just )?run\b|\bnot come home\b|\bdidnt come home\b", not_after=r"\b(?:kit|passport|forms?|paperwork|certificates?|letters?|documents?|files?|money|clothes|stuff|things|items|bikes?|phones?|records|jumper|photos|post|bags?|keys|cards?|reports?|emails?)\b(?: (?!(?:saying|says|said|and|but|so|because|cos)\b)\w+){0,3} ?$"),
    # threats and domestic violence
    _rule("threats:will_hurt", r"\b(?:hell|shell|theyll|he will|she will|they will|he would|she would|they would|hed|shed|theyd|hes gonna|shes gonna|theyre gonna|hes going to|shes going to|theyre going to)(?: (?!never\b|not\b)\w+){0,6} (?:(?:kill|stab|hurt|shoot|burn)(?! (?:himself|herself|themselves|themself|myself)\b)|beat|batter|smash|do (?:me|him|her|us|you) in|break (?:my|your|his|her)|jump me|finish (?:her|him|me|you)|come (?:for|after) (?:me|us|you)|take the children|drown|set fire|slash|sort (?:me|you|him|her|us) out|make (?:me|you) sorry|find (?:me|you) after|get (?:me|us|you|him|her)\b(?! (?:a|an|some|the|my|his|her|their|into|in|to|out|back|on|up|sorted|one|it|something|anything|new)\b)|come and get)\b|\bor your \w+ gets it\b|\bend up in a box\b|\bthreat(?:en|ens|ened|ening)? to (?:kill|hurt|stab|burn|beat|harm|shoot|take (?:me|us|the (?:kids|children|baby)|my (?:son|daughter|kids|children|baby|brother|sister)))\b|\b(?:death|kill) threats?\b"),
    _rule("threats:knows_where", r"\bknows? where (?:i|we|you|my \w+|your \w+) (?:live|lives)\b|\b(?:they|he|she) knows? where (?:my|our|your) (?:placement|house|flat|school) is\b|\bill be waiting\b|\bi know where (?:you|u) (?:are|live)\b(?! coming from)|(?<!it )(?<!this )(?<!that )\bfollow(?:s|ed|ing) me\b|\bfound out where (?:we|i) live\b|\bbanging on (?:the|my|our) door\b|\bturn(?:s|ed)? up at (?:our|my|the) (?:house|door|flat)\b|\bsat outside\b|\bwaiting outside (?:my|our|his|her) (?:house|home|school|flat|door)\b|\bseen outside\b"),
    _rule("domestic:hurts_mum", r"\b(?:beats?|hits?|hitting|punch(?:es|ed)?|strangl\w+|chok\w+|attack(?:s|ed)|kicks?|kicked|slaps?|slapped|throttl\w+|hurt(?:s|ing)?|batter\w*|pushed|shoved|goes for|started on|starts on|kicking|going mad at) (?:my |our |the )?(?:mum|mom|mam|mother|mummy|her mum|nan)\b|\b(?:assault(?:s|ed|ing)?|attack(?:s|ed|ing)?|beat|beats|beating|punch(?:es|ed|ing)?|strangl(?:es|ed|ing)|chok(?:es|ed|ing)|kick(?:s|ed|ing)?|slap(?:s|ped|ping)?|hit|hits|hitting) (?:his|her|my|their) (?:partner|wife|girlfriend|daughter|son|mum|mother|children|kids)\b", not_after=r"\b(?:i|ive|i have|i had|i never|allegation that (?:i|he|she)|alleged that (?:i|he|she)|accused of|accusing (?:me|him|her) of)\s*$"),
    # concrete acts, as children tell them rather than name them
    _rule("disclosure:acts", r"\b(?:pillow|hand|hands) (?:on|over) (?:my|her|his) (?:face|mouth)\b|\bkneel on\b|\b(?:partner|boyfriend|husband|he|dad|stepdad|step dad|she|mum) (?:has |had )?(?:broke|broken|fractured) (?:her|my|mums?) (?:wrist|arm|nose|jaw|ribs?|leg|fingers?)\b|\b(?:sat|sit|sits|sitting|knelt|kneels|kneeling) on (?:me|him|her|(?:my|his|her) (?:back|chest|neck))\b|\bgives? (?:me|us|him|her) the belt\b|\bstamps? on (?:my|her|his)\b|\bsquash(?:es|ed)? (?:my|her|his) face\b|\bhot sauce in (?:my|her|his) mouth\b|\bheld (?:me|her|him) (?:down|under)\b|\bsmashed (?:her|my|his) head\b|\bflick(?:s|ing)? my ear\b"),
    _rule("sexual:night_visits", r"\bcomes? (?:in|into) my (?:room|bed)\b(?: \w+){0,3} (?:at night|after lights out)\b|\bsits? on my bed\b|\bgot (?:in|into) my bed\b|\b(?:says|say|said) (?:stuff|things) about my body\b|\bsexual things\b|\bmade me do (?:things|stuff|sexual)\b|\bpay (?:another|some other) way\b|\bbe nice to the men\b|\bwouldnt let me leave (?:the|his) (?:room|car|flat|house)\b|\bu owe me\b|\bmature for (?:1[0-5]|my age)\b"),
    _rule("exploitation:running", r"\b(?:doing|do) drops\b|\bthe (?:lads|people|guys|man) i run for\b|\bhold (?:their|his) (?:food|stuff|gear|bits|phone)\b|\bmove a parcel\b|\b(?:my|the) debt goes up\b|\bopen bank accounts\b|\bput money through\b|\bkeep (?:drugs|a knife|cash and drugs)\b|\bsell crack\b|\bstuff to sell\b|\b(?:getting|got|get|gets|making|made|make|makes) (?:him|her|me|them) to (?:steal|rob|nick|shoplift|mug)\b|\b(?:cut|cutting|bag|bagging) (?:and bag |up )?(?:drugs|weed|crack|gear)\b"),
    _rule("self_harm:acts", r"\btook (?:a load of|loads of|\d+ of|all (?:my|her|his|the)|some of|like \d+ of) (?:\w+ ){0,2}(?:tablets|pills)\b|\btaken something\b|\bsaving (?:them|tablets|pills|my tablets) up\b|\b(?:showed|show) (?:her|him|them|you) my cuts\b|\bdid my (?:arms|legs|thighs) again\b|\bburnt myself\b(?! on the (?:oven|hob|iron|kettle|stove|cooker)| cooking| while| when (?:cooking|making))|\bjump(?:ing)? off (?:the|a)\b|\bin front of (?:a|the) (?:train|bus|lorry)\b|\bwindow ledge\b|(?<!have )(?<!had )(?<!has )\bto end it\b(?! with| for| early| there| soon| off)|\b(?:belt|cable|lace|laces|scarf) (?:a)?round (?:her|his|my) neck\b|\bligaturing\b|\bgot a plan for\b|\bsharpener blade\b|\bnot eating on purpose\b|\bscratch my arms\b|\bhit myself\b|\bdont deserve to (?:live|be here)\b"),
    _rule("missing:nowhere_tonight", r"\bnowhere to (?:go|sleep|stay) tonight\b|\bsofa surfing\b|\bsleeping in (?:the|a) (?:multi ?storey|tent|shed|park|stairwell)\b|\bstaying in a tent\b|\bleft (?:the|my) placement\b|\bnot (?:going|coming) back tonight\b|\bdont send (?:the )?police\b|\babsent without (?:permission|leave)\b|\bnot telling (?:u|you|anyone) where i am\b|\b(?:ive|i have) (?:left|gone) and im not coming back\b|\b(?:my carers|staff|nobody|no one) (?:dont |doesnt )?knows? where i am\b|\bgot on a (?:coach|train|bus) to\b|\bkicked me out\b|\bbeen gone since\b(?! (?:19|20)\d\d\b)|\bhas(?:nt| not) come home since\b|\bhasnt been (?:home|back) since\b", adult_guard=True),
    _rule("locked:shut_away", r"\bnot let out of (?:my|the|his|her) room\b|\block on the outside\b|\bpadlock(?:s|ed|ing)?\b|\bchain on (?:my|the|his|her) door\b|\bdeadlock\b|\b(?:quiet|time out|timeout) room and lock\b|\bsleep in the shed\b|\bcrisps for tea\b|\bhasnt bought (?:any )?food\b|\blast tin of\b|\bnothing in for (?:me|us|the kids|my)\b|\bearn your (?:dinner|tea|food)\b|\bget nothing to eat\b"),
    _rule("neglect:carer_absent", r"\bon the drink\b|\bstays in bed (?:all|w|with)\b|\b(?:left|leaves) me in charge\b|\bgoes to the pub and leaves\b|\beating (?:from|out of) the bins\b|\bforg(?:ets|etting|ot) to give (?:me|him|her|them|my \w+) (?:his|her|their|my) (?:\w+ )?(?:medication|medicine|meds|insulin|inhaler)\b|\b(?:dont|doesnt|didnt|not) give (?:me|him|her|us) (?:my|his|her|our) (?:\w+ )?meds\b"),
    _rule("domestic:violence_at_home", r"\b(?:smash(?:es|ed|ing)?|throw(?:s|ing)?|threw|chuck(?:s|ed|ing)?) (?:stuff|things|plates?|a plate|the tv|furniture|glasses|a mug|a chair|chairs|the kettle|a kettle)\b|\bpolice (?:came|come|were called|were at ours|round)\b|\bviolen(?:t|ce)\b|\bfight(?:ing)? really bad\b|\bend up fighting\b|(?<!woke up )(?<!waking up )(?<!wake up )\bscreaming\b(?! (?:into|from (?:a |the |her |his |my )?nightmares?|over the (?:xbox|playstation|game|tv)))|\brefuge\b|\bput (?:me|her|mum) in hospital\b|\bbroke her phone\b|\b(?:face|nose|lip|mouth) (?:was |is |were )?(?:bleeding|covered in blood)\b|\b(?:shouting|screaming|yelling) (?:stop|help|get off)\b|\bcontrols? (?:all )?(?:the|her|my) money\b|\bchecks (?:my|her) phone\b|\b(?:fled|fleeing|flee) (?:from )?(?:him|them|my ex|her ex|a violent|domestic|the violence|abuse)\b"),
    # disclosures made in passing or hedged, told through what happens rather than named
    # ("is it normal for your mum to lock the fridge", "he gets in the bed", "put me out in
    # the garden", an officer's "has not been seen for four nights"); each checked against
    # the corpus's everyday complaints ("staff lock the kitchen at 9", "child locks on the
    # cupboards", "they made us wait outside in the rain for contact")
    _rule("locked:food_locked_away", r"\b(?<!child )(?<!safety )(?:lock|locks|locked|locking|padlocks?|padlocked|chains?) (?:up )?(?:the )?(?:fridge|freezer|food cupboards?|cupboards|food|bread ?bin)\b|\b(?<!child )(?<!safety )locks? on (?:the )?(?:fridge|freezer|cupboards)\b|\b(?:take|takes|took|taking) the (?:plug|fuse) (?:off|out of) the fridge\b|\b(?:keep|keeps) (?:the|all the) food in (?:her|his|their) (?:room|bedroom)\b|\bhave to ask (?:to have|for|before i have) (?:some |a )?(?:water|drink|food)\b|\bstopped eating so (?:he|she|they|the \w+|my \w+) can\b|\bfeeds? (?:us|me|them|him|her) when (?:she|he|they) remembers?\b|\beats? when (?:mummy|mum|mommy|mam|daddy|dad) wakes up\b|\bcereal with water\b|\bbeg(?:s|ging|ged)? for (?:food|bread)\b|\b(?:steals?|stole|stolen|stealing|taking|takes) food from (?:other|the other)\b|\bif (?:i|we) had any food\b|\bunfed\b"),
    _rule("locked:shut_out_or_in", r"\b(?:sleep|sleeps|sleeping|slept|kept|keeps|locked|shut|put|puts|made to (?:sleep|stay|sit)) in the cupboard under the stairs\b|\b(?:put|puts|putting|locked|locks|shut|shuts|kept|keeps|shoved) (?:me|us|him|her|them|my \w+)(?: \w+)? in (?:the|a) (?:cupboard|cellar|garage|loft|dark|cage|coal shed|utility(?: room)?)\b|\b(?:put|puts|putting|shut|shuts|locked|locks) (?:me|us|him|her|them) out (?:in|into) the (?:garden|yard|rain|cold|street)\b|\b(?:make|makes|made|making) (?:me|us|him|her|them) (?:stand|sleep|stay) (?:out in the|in the (?:garden|rain|cold|wet)|on the doorstep)\b|\b(?:make|makes|made|making) (?:me|us|him|her|them) sleep outside\b|\bsleep in (?:the )?wet (?:sheets|bed|clothes)\b|\bchair (?:against|under) (?:his|her|my|the) (?:bedroom )?door\b|\bbolt (?:fitted |put )?(?:on|to) the outside\b|\b(?:wee|pee|toilet) in a (?:cup|bottle|bucket)\b|\bconfined to (?:her|his|my|their|the) (?:bed)?rooms? (?:for|as)\b|\b(?:locks?|locked|locking) (?:me|us|him|her|them) in (?:the|a|my|his|her|their) (?:\w+ )?(?:room|bedroom|flat|house|bathroom|toilet|shed|cupboard|car)\b|\blocked in (?:the|their|our) (?:flat|house|room) (?:all|for)\b|\blocks? (?:it|the door|my door|his door|her door) (?:from|on) (?:the )?outside\b|\b(?:use|used|using) a (?:bucket|bottle) (?:as a toilet|for the toilet|if i need|to wee|to pee)\b"),
    _rule("abuse:told_through_acts", r"\b(?:make|makes) (?:me|us|him|her) kneel\b|\bkn(?:eel|eels|elt|eeling) on (?:my|her|his) (?:back|neck|chest|arms?|throat)\b|\b(?:held|holds|holding|pinned|pins) (?:me|him|her|us)(?: \w+){0,2} face ?-?down\b|\b(?:pinned|pins) (?:me|her|him|mum|my \w+) (?:to|against|on) the (?:floor|wall|bed|ground)\b|\bshak(?:es|ing) (?:me|him|her|us|the baby)\b(?! up)|\bput (?:my|his|her) hands? on the (?:hob|cooker|fire|iron|radiator)\b|\b(?:where|so) it (?:doesnt|dont|wont|does not|cant) show\b|\buse the (?:bat|belt|stick|cable)\b|\b(?:beat|beaten|hit|battered|whacked|attacked|threatened) (?:\w+ )?with (?:a|the|his|her|their) (?:bat|baseball bat|golf club|hammer|stick|belt|bottle|chair|cable|pole)\b|\bby (?:her|his|my) (?:throat|neck|hair)\b|\b(?:thrown|threw|pushed|shoved|kicked) (?:me |her |him |them |us |mum |my \w+ )?down the stairs\b|\bsqueez(?:ed|es|ing) (?:\w+ )?(?:neck|throat)\b|\bwent (?:really floppy|all floppy|floppy)\b|\b(?:stand|standing|stood|sit|sitting|sat) in (?:a )?cold (?:bath|shower)\b|\b(?:punched|punches|kicked|kicks|smashed|smashes|hit|hits) (?:the )?(?:wall|door) (?:next to|beside|by|near|above) (?:her|his|my|mums?) (?:head|face)\b|\bthrew (?:\w+ ){0,3}at (?:my|her|his) (?:face|head)\b|\bshaped like a hand\b|\b(?:threw|throws|thrown|chucked|chucks) (?:a |the |his |her )?(?:\w+ )?at (?:mum|my mum|her|me|him|us|my \w+)\b|\bblood on the (?:floor|lino|carpet|wall|walls|sheets|stairs)\b"),
    _rule("sexual:in_the_bed", r"\b(?<!i )(?:gets|got|climbs|climbed|getting|keeps getting) (?:in|into) (?:the|my|her|his) bed\b|\b(?:keep|keeps) coming (?:in|into) my (?:room|bed) (?:at night|when)\b", not_after=r"\b(?:brother|sister|bro|sis|dog|cat|puppy|kitten|baby|toddler|cousin)\b(?: \w+){0,2} ?$"),
    _rule("sexual:told_through_acts", r"\b(?:our|their) (?:little secret|secret)\b(?! santa)|\b(?:says|said) its (?:a|our) (?:game|secret)\b|\bhe (?:takes|took|keeps taking|is taking) (?:pictures|photos|videos)(?: of (?:me|her|him|us|my body|her body))?\b(?! of)|\b(?:share|post|send|show) (?:them|it|the (?:pictures|photos|pics|videos)) (?:unless|if (?:i|she|he) (?:dont|doesnt|wont))\b|\b(?:got|have|has) (?:a video|videos|pictures|pics) of (?:me|her|him) (?:and|doing|naked|with)\b|\b(?:theyve|hes|shes|they have|he has|she has) got (?:a video|videos|pictures|pics|photos) of (?:me|her)\b|\basking (?:me|her|him) for (?:pictures|pics)\b|\b(?:pictures|photos|videos|pics) of (?:himself|herself) (?:naked|with no|with his top|with her top|without)\b|\b(?:made|forced) to have sex\b|\bhave sex with (?:customers|men|them|his mates|their mates)\b|\bwoke up (?:and|with)(?: \w+){0,3} (?:clothes|knickers|underwear|pants)\b|\b(?:told|tells|asked) (?:me|her|him|us) to delete (?:the |our |his |their |)(?:messages|chats?|texts)\b|\b(?:give|gives|gave|giving) (?:us|me|her|him) (?:pills|tablets)\b|\bhotel (?:key ?cards?|room keys?|toiletries)\b|\bowe (?:me|him|them) for (?:that|the|this|those|my|his|her) (?:phone|trainers|clothes|nails|drink|drinks|weed|stuff|lifts?|gifts?|bag|present)\b|\b(?:says|said|calls me) (?:im|i am|shes|she is) his girlfriend\b|\bdo what (?:his|their) (?:mates|friends) (?:want|say|tell)\b|\bleast i can do after (?:everything|all) he\b|\b(?:picked up|collected)(?: \w+){0,6} by (?:a man|an older|different (?:men|cars)|men|older men)\b", not_after=r"\b(?:gp|doctor|doctors|nurse|pharmacist|dentist|hospital|consultant|optician)\b(?: \w+){0,5}\s*$"),
    _rule("exploitation:told_through_acts", r"\bthe olders\b|\bcooking for (?:the )?olders\b|\b(?:gave|give|given|gives) (?:him|me|her|them) a hiding\b|\bcame back light\b|\bbando\b|\bwraps of\b|\bburner phones?\b|\b(?:wads|rolls|bundles|large sums|loads) of cash\b|\bdo a run for (?:them|him|the \w+)\b|\b(?:go|goes|going|gone) trap(?:ping)?\b|\b(?:made|forced) to (?:sell|deal|carry drugs|hold drugs)\b(?! (?:my|his|her|our|their) )|\b(?:made|makes|make|making|forced) (?:me|him|her|them) (?:to sell|sell|to deal|deal)\b(?! (?:my|his|her|our|their) )|\bcarry drugs internally\b|\brunning for (?:someone|some|a man|older|the olders|them|these|those|people)\b"),
    _rule("exploitation:out_country", r"\bout country\b"),  # its own rule: its key, "coun…", is in every "council"
    _rule("self_harm:told_through_acts", r"\bburn(?:ing|s|t|ed)? (?:myself|herself|himself|urself|yourself)\b(?! on the (?:oven|hob|iron|kettle|stove|cooker)| cooking| while| when (?:cooking|making))|\b(?:razor|razors|blade|blades|sharpener) (?:blade )?(?:in|under|hidden in) (?:my|her|his) (?:pencil case|bag|room|pocket|drawer|pillow)\b|\bplanning how (?:id|i would|ill|i will|to) (?:do it|end it|kill)\b|\b(?:looked up|researched|googled) (?:the bridge|how to (?:die|kill|end|overdose|hang))\b|\b(?:blade|razor) from (?:my|her|his|a|the) (?:pencil )?sharpener\b|\b(?:pic|pics|picture|photo|video) of (?:her|his|my) (?:wrists|cuts|arms cut)\b|\bpicking at (?:the |my )?cuts\b|\b(?:took|taken|swallowed|swallowing|taking) (?:like |about |around |maybe |over |nearly |almost )?(?:\d+|loads|a load|a handful|a bunch) of (?:something|(?:\w+ ){0,3}(?:tablets|pills|paracetamol))\b|\b(?:tied|ties|tying|tie|wrapped|wraps|wrapping) (?:\w+ ){0,4}(?:a)?round (?:her|his|my) neck\b|\bnothing (?:to|left to) (?:stick around|live) for\b|\b(?:walking|walk|walked|sat|sitting|standing|stood) (?:along|on|by) the (?:railway|train) (?:line|tracks?)\b|\b(?:crash|step|walk|jump) (?:my \w+ )?(?:into|in front of) (?:a|the) (?:\d+ )?(?:lorry|bus|train|traffic)\b|\b(?:scratched|scratch|carved|carve|cut) (?:\w+ ){0,2}into (?:my|her|his) (?:arm|forearm|leg|skin|wrist|thigh)s?\b|\b(?:fist|fists|knuckles) (?:against|into) (?:the |a )?walls? (?:until|till|til)\b|\bknuckles (?:split|bled|bleeding)\b"),
    _rule("neglect:told_through_acts", r"\b(?:in|wearing) the same (?:nappy|nappies)\b|\bsleeps? in the bath\b|\b(?:doesnt|dont|does not|never) get up (?:most days|all day)\b|\b(?:in bed|asleep) for (?:days|a week|weeks)\b|\b(?:because|cos|coz) (?:mum|mummy|dad|daddy) (?:is|s) (?:asleep|passed out|in bed)\b|\bnobody changes (?:her|him|the bed|the sheets|his nappy|her nappy)\b|\bleaving (?:her|him|them|me|us) (?:alone )?with the (?:\d+-year-old|baby|toddler)\b|\b(?:sits|sat|left|stays|lies|lying) in (?:his|her|the) cot all day\b|\bunresponsive on (?:the )?(?:sofa|floor|bed|couch)\b|\blooking after (?:a |the |my |his |her |their )?(?:\d+-year-old|baby|babies)(?: \w+){0,4} on (?:my|his|her|their) own\b|\b(?:keep|keeps) (?:me|him|her|us) (?:home|off) (?:from school|school) to\b|\b(?:ran|run) out of (?:nappies|nappys|formula)\b|\b(?:havent|hasnt|not) had a (?:wash|bath|shower) (?:in|for) (?:like |about |over )?(?:\w+ )?(?:weeks?|days)\b|\bonly (?:get|got|had|have|gets) (?:crisps|biscuits|toast|cereal|sweets) for (?:dinner|tea|lunch|breakfast)\b|\bwater (?:it|the (?:formula|milk)) down\b|\b(?:never|doesnt|dont|hardly ever|barely) (?:feeds?|washes|bathes|changes) (?:her|him|them|us|me|the baby)\b", adult_guard=True),
    _rule("missing:not_back", r"\b(?:hasnt|has not|havent|have not) (?:come|came) (?:back|home)\b(?! (?:to (?:me|us|you|him|her|them|my|the (?:office|council|team|complaints))|with|about|on|yet to|in touch|from (?:the |my |her |his |your )?(?:school|college|work|holiday|social worker|sw|council|team|office|panel|court|manager|worker|iro|solicitor|dbs|police)))|\b(?:hasnt|has not|havent|have not) been (?:back )?(?:home|back (?:to (?:the|his|her|my|their) (?:home|placement|house|flat|lodgings|hostel)|since|for \w+ (?:nights|days)))\b|\bnot been seen (?:(?:at|in) (?:\w+ ){1,3})?(?:for (?:\w+ )?nights|since (?:\w+ )?night)\b|\b(?:hasnt|has not|nobody has|no one has) seen (?:her|him) (?:for|since) (?:weeks|days|\w+ days|\w+ weeks)\b|\bno money and nowhere to (?:go|stay|sleep)\b|\b(?:has|hes|had|have|s) (?:taken|took) (?:her|him|them|my \w+) (?:abroad|out of the country)\b(?! on holiday| for (?:a |the )?holiday)|\btook (?:him|her|them) from (?:the )?(?:park|school|contact)\b|\b(?:said|says) (?:i|she|he) (?:can|could) stay (?:at|with) (?:his|theirs|him)\b|\b(?:hasnt|has not|not) been at (?:his|her|their|the) (?:placement|home|lodgings|foster \w+) for\b|\bafter a row and (?:hasnt|has not|havent) (?:been|come) back\b"),
    _rule("threats:told_through_acts", r"\bput (?:you|me|him|her|us|them) (?:both |all )?in the ground\b|\brun (?:me|you|him|her|us) over\b|\bmake it look like an accident\b|\byou cant hide\b|\b(?:ill|i will|im gonna|im going to) (?:kill|stab|hurt|batter|slash|shoot|cut) (?:you|him|her)\b|\b(?:im|i am) coming for (?:you|u)\b|\bwhat happens to (?:snitches|grasses)\b|\b(?:with|carrying|got|has|bring|bringing) something sharp\b|\bfinger across (?:his|her|my) (?:neck|throat)\b|\b(?:ill|i will) get you\b(?! (?:a|an|some|the|sacked|fired|reported|sorted)\b)|\b(?:theyll|hell|shell|theyd) (?:do|slice|jump|get) (?:him|her|me|us|you|his (?:mum|dad|brother|sister|mom|family)|my (?:mum|dad|brother|bro|sister|sis|cousin|family|little \w+))\b(?! (?:a|an|some|the|any|anything|something|no|good|proud|back|up|out|to|in|for|sorted|on|new)\b)|\b(?:they|he|she) (?:will|would) (?:slice|jump) (?:him|her|me|us|you|my \w+|his \w+)\b|\b(?:would|will) be next\b(?! (?:week|month|year|time|on|in|to|door|day|of kin|for)\b)|\b(?:im|i am|youre|shes|hes|were|youll be) next\b(?! (?:week|month|year|time|on|in|to|door|day|of kin|for)\b)|\bwatch what happens\b|\b(?:coming|come|comin) (?:round |over |back )?to (?:finish|kill|stab|hurt|batter|slash) (?:me|us|you|him|her)\b|\bget it worse\b|\b(?:back|come back) to finish (?:it|the job)\b|\b(?:showed|shows|show|showing) (?:\w+ ){1,2}(?:a|his|her) (?:shotgun|gun|knife|machete|blade)\b|\b(?:hes|shes|theyve|has|have|had) got (?:a|his|her) (?:hammer|baseball bat|knife|machete|gun|shotgun)\b|\bwont see (?:either of us|him|her|them|us) again\b|\bsort (?:you|her|him|me|us|them) out properly\b"),
)

# Signals whose wording is as common in complaints *about* harm that is over, or about a
# process ("he went missing in 2022", "the police came last year", "a bruise from football
# and a MASH referral"), as in disclosures: on the corpus fewer than four in five of their
# matches are disclosures. Alone they make a `possible` flag; with the model's agreement
# (its recall-tuned threshold) a `disclosure`. Every other rule is a disclosure by itself.
CORROBORATED = frozenset({
    "missing:gone_missing", "missing:nowhere_tonight", "abuse:cruel_words", "neglect:home_conditions", "domestic:violence_at_home",
    "injury:marks", "sexual:older_men", "sexual:boyfriend_age", "exploitation:county_lines", "locked:locked_in",
})

# Rules the model's veto never overrules (see `level`): harm told through what happens. Not the
# threats told so ("ill kill you"), which are as often said in temper or in fun, in words the model reads.
UNVETOED = frozenset(f"{kind}:told_through_acts" for kind in ("abuse", "sexual", "exploitation", "self_harm", "neglect"))


def level(signals: Sequence[str], score: float, possible_at: float, disclosure_at: float, veto_below: float = 0.0) -> str | None:
    """The safeguarding level of a message from its rule signals and the model's score: the one
    rule, used to classify and to set the thresholds alike.

    `disclosure`: a rule that speaks alone, a corroborated rule the model agrees with (score at
    least `possible_at`), corroborated rules of two different kinds of harm (each is the other's
    corroboration: "gone missing" and "cuts he won't explain"), or a score of at least
    `disclosure_at`; but rules whose message the model scores under `veto_below` (all but sure
    it is ordinary: a film, a game, harm long over, in words the rules cannot see round) are
    only `possible`, so the person is not told to call 999 on a phrase alone. The rules for harm
    told through what happens (`UNVETOED`: "he says it's our secret, he takes pictures") are
    never vetoed: they exist for words the model does not read as harm, so its low
    score there is its blind spot, not evidence. `possible`: any other signal, or a score of at
    least `possible_at`; otherwise None."""
    agrees = score >= possible_at
    if score >= max(possible_at, disclosure_at):
        return "disclosure"
    heard = score >= veto_below or any(s in UNVETOED for s in signals)
    if heard and (any(s not in CORROBORATED for s in signals) or (signals and agrees)
                  or len({s.partition(":")[0] for s in signals}) >= 2):
        return "disclosure"
    return "possible" if signals or agrees else None

_WORD = re.compile(r"\w+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_JOKE = re.compile(r"\b(?:lol|lmao|lmfao|haha+|jk|joking|not really|not literally|nothing (?:has )?happened)\b|😂|🤣|💀")
_TURN = re.compile(r"\b(?:but|though|although|except|anyway)\b")
_NOT_JOKING = re.compile(r"\b(?:not|no|aint) joking\b")
_NEWS = re.compile(r"\b(?:on the news|news|documentary|article|in the paper|press|a story (?:about|in)|fiction|lesson about|saw on tiktok|(?:film|movie|programme|series|episode|book|game)(?: \w+){0,4} (?:about|where|in which))\b")
_OVER = re.compile(
    r"\bused to\b|\bwhen i was (?:little|younger|small|a kid|in care|\d+|in year \d)\b|\byears ago\b|\byears back\b|\bin the past\b|\bbehind me\b"
    r"|\bages ago\b|\bmoved on\b|\bno longer\b|\bnot any ?more\b|\blast (?:year|winter|spring|summer|autumn)\b|\bbefore (?:he|she|they) came (?:to (?:live with )?us|here)\b|\bwhen (?:she|he) first came\b"
    r"|\bdealt with\b|\bclean (?:for )?\d|\bfree for (?:\d+|a|two|three|six|over a) (?:weeks?|months?|years?)\b|\bcame back (?:safe|safely|unharmed)\b|\bwas found safe\b|\bsafe and settled\b|\bin (?P<year>(?:19|20)\d\d)\b"
)
# "it feels like someone punched me", "i look like ive been attacked by bees": a likeness, not a blow
_SIMILE = re.compile(
    r"\b(?:(?:feels?|felt|feeling|looks?|looked|looking) like|as if|as though) (?:someone|somebody|some1|(?:i|ive|id) (?:have |had )?(?:been|was|got))"
    r"(?: \w+){0,2} ?$"
)
_CONDITION = re.compile(r"\b(?:if|unless) (?:i|you|u|he|she|we|they) $")  # "if i dont behave hes gonna kill mum" is a threat, not a negation
_STILL = re.compile(r"\b(?:still|again|ever since|(?:hasnt|has not|havent|have not|never) stopped|keeps?|last night|yesterday|today|tonight|this (?:week|morning)|at the moment|right now)\b")
# a negation reaches the match over at most three words and never across a turn of the sentence
# ("you never listened so i ran off"); "not gonna lie" means "honestly"
_NEGATED = re.compile(
    r"\b(?:not(?! (?:gonna|going to|to) lie\b)|never|doesnt|dont|didnt|wont|isnt|wasnt|hasnt|havent|nobody|no one|would never)"
    r"(?: (?!(?:so|but|and|because|cos|coz|then|now)\b)\w+){0,3} ?$"
)
_ADULT_SELF = re.compile(r"\b(?:im|i am|aged)\s*(?:1[89]|2\d)\b|\bcare leaver \((?:1[89]|2\d)\)")
_CHILD_MENTIONED = re.compile(r"\b(?:little|baby|younger) (?:brother|sister|bro|sis)\b|\bmy (?:son|daughter|kids|children|baby|child|sister|brother|siblings)\b|\bthe (?:kids|children|baby|twins)\b|\b(?:he|she) is (?:only )?\d\b|\(\d{1,2}\)")


_DROPPED = str.maketrans("", "", "'\u2019\u2018`\"\u201c\u201d")


def fold(text: str) -> str:
    """Lower case, apostrophes and double quotes dropped ("don't" → "dont", as young people type
    it; he will "sort her out" → he will sort her out, as an officer quotes it), single spaces per line."""
    text = text.lower().translate(_DROPPED)
    return "\n".join(" ".join(line.split()) for line in text.split("\n"))


def _suppressed(sentence: str, start: int, end: int, today: date) -> bool:
    """Is the match at sentence[start:end] a joke, negated, news, or harm that is over?"""
    if not _NOT_JOKING.search(sentence):
        for joke in _JOKE.finditer(sentence):
            # "im fine lol but my mum hasnt come home": a "but" between the laugh and the match turns
            # from the joke to what is meant
            between = sentence[joke.end() : start] if joke.end() <= start else sentence[end : joke.start()]
            if not _TURN.search(between):
                return True
    window = sentence[max(0, start - 30) : start]
    negation = _NEGATED.search(window)
    if negation and not _CONDITION.search(window, 0, negation.start()):
        return True
    if _SIMILE.search(window):
        return True
    if _NEWS.search(sentence):
        return True
    if _STILL.search(sentence):
        return False
    for over in _OVER.finditer(sentence):
        # "I used to self-harm", "I ran away loads last year": the past wording qualifies the
        # match only when it is right before it or after it in the same sentence, or opens the
        # sentence ("Two years ago she ran off after a row and was missing overnight")
        if over.start() >= end or 0 <= start - over.end() <= 25 or (over.end() <= start and len(sentence[: over.start()].split()) <= 2):
            year = over.group("year")
            if year is None or int(year) <= today.year - 2:
                return True
    return False


_KEY_RULES: dict[str, list[int]] = {}
for _index, _r in enumerate(RULES):
    for _k in _r.keys:
        _KEY_RULES.setdefault(_k, []).append(_index)
_PAIR_RULES = {tuple(k[1:].split(" ")): rules for k, rules in _KEY_RULES.items() if k[0] == "+"}
_PAIRS = frozenset(_PAIR_RULES)  # a set, for intersecting with a text's pairs without building a set of them
_STEM_LENGTHS = sorted({len(k) - 1 for k in _KEY_RULES if k[0] == "~"})
_WORD_HITS: dict[str, tuple[tuple[int, str], ...]] = {}  # word → (rule, key in the text) it gives
_CACHE_LIMIT = 100_000


def _word_hits(word: str) -> tuple[tuple[int, str], ...]:
    keys = ["=" + word, *{"~" + word[:n] for n in _STEM_LENGTHS if len(word) >= n}]
    return tuple((ri, key[1:]) for key in keys for ri in _KEY_RULES.get(key, ()))


def candidate_rules(folded: str) -> dict[int, list[str]]:
    """The rules that could match, each with the keys of it that the text holds (as they appear in it).

    What a word gives is remembered (words repeat), so a message costs a look-up a word."""
    tokens = _WORD.findall(folded)
    found: dict[int, list[str]] = {}
    cache = _WORD_HITS
    for word in set(tokens):
        hits = cache.get(word)
        if hits is None:
            hits = _word_hits(word)
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[word] = hits
        for ri, key in hits:
            found.setdefault(ri, []).append(key)
    for pair in _PAIRS.intersection(zip(tokens, tokens[1:])):
        for ri in _PAIR_RULES[pair]:
            found.setdefault(ri, []).append(" ".join(pair))
    return found


def find_signals(text: str, *, today: date | None = None, every_rule: bool = False) -> list[str]:
    """The names of the safeguarding signals in a (cleaned) text, in rule order, each once.

    Rules are matched sentence by sentence, and only the rules whose key word is in the
    text, only in the sentences that hold it: that keeps the rules to a few tens of
    microseconds a message. `every_rule` tries every rule on every sentence (tests)."""
    folded = fold(text)
    if not folded:
        return []
    today = today or date.today()
    starts = [0] + [m.end() for m in _SENTENCE.finditer(folded)]
    ends = [*starts[1:], len(folded)]
    everywhere = list(range(len(starts)))
    chosen: dict[int, list[str] | None] = dict.fromkeys(range(len(RULES))) if every_rule else candidate_rules(folded)  # type: ignore[arg-type]
    adult_self: bool | None = None
    fired: list[str] = []
    for ri in sorted(chosen):
        rule, keys = RULES[ri], chosen[ri]
        where = everywhere if keys is None or len(starts) <= 2 else _sentences_holding(folded, keys, starts)
        if _fires(rule, [folded[starts[i] : ends[i]] for i in where], today):
            if rule.adult_guard:
                if adult_self is None:
                    adult_self = bool(_ADULT_SELF.search(folded)) and not _CHILD_MENTIONED.search(folded)
                if adult_self:
                    continue
            fired.append(rule.signal)
    return fired


def _sentences_holding(folded: str, keys: list[str], starts: list[int]) -> list[int]:
    """The sentences in which a key occurs (as a substring: a superset of where it is a word)."""
    found: set[int] = set()
    for key in keys:
        at = folded.find(key)
        while at != -1:
            sentence = bisect_right(starts, at) - 1
            found.add(sentence)
            if len(found) == len(starts):
                return list(range(len(starts)))
            at = folded.find(key, starts[sentence + 1] if sentence + 1 < len(starts) else len(folded))
    return sorted(found)


def _fires(rule: Rule, sentences: list[str], today: date) -> bool:
    for sentence in sentences:
        for match in rule.pattern.finditer(sentence):
            start, end = match.start(), match.end()
            if rule.not_after and rule.not_after.search(sentence[max(0, start - 30) : start]):
                continue
            if not _suppressed(sentence, start, end, today):
                return True
    return False
