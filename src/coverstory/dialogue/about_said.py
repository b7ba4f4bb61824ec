"""How readers ask about one book in words: "why this one?" (``EXPLAIN``) and questions about
its author, year, length, series, audience or story (``ASK``, one pattern per field).
``acts.classify`` reads them; ``turns/about.py`` answers them."""

from __future__ import annotations

import re

from coverstory.dialogue.series_said import NTH_ASK

EXPLAIN = re.compile(
    r"^(?:and |but |so |ok |okay |hmm,? )?why\b|\bwhy (?:did|do|would|is|are|was|this|that|"
    r"the (?:first|second|third|fourth|fifth|last|other|book|one|\w+ one|\w+ book)\b|"
    r"these|those|it|him|her|not this)\b|\bhow (?:is|are|'s) (?:that|it|this|they|these|those|the \w+(?: one)?) "
    r"(?:like|similar)|\bwhat makes (?:it|that|this|them)\b|\bexplain\b|"
    r"\bwhat do (?:they|these) have in common\b|\bin what way\b|\bwhat made you (?:choose|pick|"
    r"include|suggest|recommend|go for)\b|\bfor what reason\b|\breason (?:for|behind) (?:choosing|"
    r"picking|suggesting)\b|^(?:and |so )?(?:the )?(?:first|second|third|fourth|fifth|last|other|"
    r"\w+) (?:one|book)[,\s]+why\W*$")                            # "the first one, why?"
ASK = {
    # "which of those is about australia?", "which 1 is the everest one and when"
    "which": r"\bwhich (?:one ?|1 |book )?(?:of (?:those|these|them|his|hers|theirs) )?(?:is|was|'s) "
             r"(?:about|set in|set on|on|the one (?:about|with|set in|set on|on)|"
             r"the (?!(?:first|second|third|fourth|fifth|last|other|same|next|one)\b)"
             r"[\w' -]{2,30} (?:one|book)\b)|\bwhich (?:one |1 |book )?(?:of (?:those|these|them) )?"
             r"(?:came out|come out|was published|was written|is from|was from) (?:in )?"
             r"(?:1[5-9]\d\d|20[0-3]\d)\b",            # "which of those came out in 2016"
    "title": r"\b(?:isn'?t|is|wasn'?t|was) (?:that|it|this)(?: one)? (?:also |originally )?(?:called|"
             r"known as|the same as|published as|titled)\b|\b(?:other|original|uk|us|american|"
             r"british) title\b",
    "audience": r"\b(?:ok|okay|suitable|appropriate|alright|all right|fine|too (?:old|young|"
                r"grown[- ]up|mature|scary|hard|adult))\b(?! (?:something|anything|some|more|now|then|so)\b)[\w' ]{0,12}\bfor (?:a |an |my |our |him\b|"
                r"her\b|them\b|kids|children|teens|\d)|\bage[- ]appropriate\b|\bwhat age\b|"
                r"\bhow old (?:do|should)\b|^(?:and |so )?is (?:it|that|this)(?: one)? (?:ya|young adult|"
                r"a ya (?:book|novel)|for (?:teens|kids|children|adults|grown ?ups)|a kids'? book|"
                r"a children'?s book|adult|middle grade)\W*$",
    "who": r"^(?:and |so |ok )?who(?:'s| is| was) (?!(?:it|that|this|the|a|an|he|she|they|your)\b)"
           r"[a-z][\w.'-]+(?: [a-z][\w.'-]+){1,3}\W*$|\bpen ?name\b",
    "author": r"(?<!else )(?<!someone )\bwho (?:wrote|rote|is the author|writes(?! (?:like|similar|the same))|is it by|"
              r"wrote it with)\b|\bco-?written\b|\bco-?authors?\b|\bwith who(?:m)?\W*$|"
              r"(?<!else )(?<!someone )\bwho (?:wrote|rote|is the author|writes(?! (?:like|similar|the same))|is it by|"
              r"drew|illustrated)\b|\bwho'?s the author\b|"
              r"^(?:and )?(?:the )?(?:author|writer)\??$|"
              r"\bwho'?s (?:it|that|this)(?: one)? by\b|\b(?:wrote|written) (?:that|this|it)(?: one)?\??$|"
              r"\bwhat author\b|\bwho is (?:it|that) by\b|"
              r"\bwho(?:'s| is| was) the (?:poet|author|writer|illustrator)\b|"
              r"^(?:and )?(?:the )?(?:author|writer|poet) of (?:the |that |this |book |number |#)",
    "year": r"\bwhen (?:was|did) (?:it|that|this|the \w+(?: one)?) (?:come out|published|written|"
            r"out|released)|\bwhat year\b|\bhow old is\b|\bwhen did it come out\b|"
            r"\bwhen did \w+ write (?:it|that|this)\b|^(?:and )?(?:the |what )?(?:year|date)\??$|"
            r"\bwhen (?:was|were) (?:it|that|this)(?: one)? (?:written|published)\b|"
            r"\bwhen(?:'s| is| was)? (?:it|that|this)(?: one)? from\b|"
            r"\b(?:year|date) (?:on|of|for) (?:it|that|this)\b|"
            r"\b(?:it|that|this)(?: one)? (?:came|come|was) out when\b|"
            r"\b(?:year|date) of (?:publication|release|publishing)\b|"
            r"\bpublication (?:year|date)\b|\bpublished when\b|\bthe year it came out\b|^(?:and )?when\??$|\band when\??$|"
            r"\bwhen (?:was|did) [\w' .:-]{2,60}? (?:come out|published|written|released)\b|"
            r"\bwhen did (?:he|she|they) write\b|"
            r"\b(?:its|that(?: one)?'?s|this(?: one)?'?s) (?:year|date|publication)\b",
    "pages": r"\bhow (?:long|many pages?|big|thick)\b|\bpage count\b|\bnumber of pages\b|"
             r"\bwhat'?s (?:its|the) length\b|\bis (?:it|that|this)(?: one)? (?:over|under|more than|"
             r"less than) (?:a thousand|\d+|[a-z]+ hundred) pages\b|"
             r"^(?:and )?(?:pages|length|page count|how many pages)\??$|"
             r"\bis (?:it|that|this)(?: one)? (?:very |too |really )?(?:long|short|a long one|"
             r"a quick read)\b|^(?:and |so |ok )?is [\w' :-]{3,50}? (?:very |too |really )?(?:long|"
             r"a long one|a long book|thick|a big book)\W*$|"
             r"^(?:and |so |but )?(?:is it |it'?s |is that |that'?s )?(?:short|long|very long|"
             r"a long one|thick)\?$|"
             r"\b(?:its|that(?: one)?'?s|this(?: one)?'?s) (?:length|page count|pages)\b",
    "series": r"\bis (?:it|that|this|the \w+(?: one)?) (?:part of )?(?:a|in a) series\b|"
              r"\bwhich series\b|\bwhat series\b|\bis (?:it|that|this)(?: one)? the first\b|"
              r"\bwhich book in\b|\bis (?:it|that|this)(?: one)? (?:the |book |number |no\.? |#)" + NTH_ASK +
              r"(?: one| book| novel)?(?: in (?:the|that) series)?\W*$|"
              r"\bit'?s the first\b[^?]*\b(?:yes|right|isn'?t it|correct)\b|"
              r"\b(?:which|what) (?:number|position|book) (?:in|of) (?:the )?[\w' ]{2,40}? is\b|"
              r"\bwhat number is [\w' ]{2,40}? in\b|"
              r"\b(?:which|what) number is (?:it|that|this)\b|"
              r"\bare (?:any|they|these|those|all|some)(?: of (?:them|these|those))? "
              r"(?:part of|in) (?:a )?series\b",
    "count": r"\bhow many (?:books|novels|parts|volumes|are there|of them|in (?:the|that|this) series|"
             r"in total|altogether)\b(?! pages)",
    "compare": r"\bwhich (?:one|of (?:them|these|those|his|hers|theirs)|is)(?: is| was)? (?:the |her |his |their )?"
               r"(?:shortest|longest|newest|oldest|most recent|earliest|latest|quickest|most famous|"
               r"most popular|best known|best)\b|\b(?:the )?(?:shortest|"
               r"longest|newest|oldest) (?:one|of (?:them|these|those))\b|"
               r"\bwhich (?:one|of (?:them|these|those))(?: was| is| came out| got)? (?:first "
               r"published|published first|written first|out first)\b",
    "about": r"\bwhat(?:'s| is| are) (?:it|that|this|the \w+(?: one)?|they) about\b|"
             r"\bwhat happens in\b|\btell me (?:more )?about (?:it|that|this|the \w+)|"
             r"\bwhat(?:'s| is) the (?:plot|story)\b|\bwhat kind of book is\b|\bis it any good\b|"
             r"^what(?:'s| is|s) .{3,60} about\??$",
}
