"""Words only the course's makers understand. Readers, students and instructors never see
how the course was made, so no page, notebook, README or message may show these."""

# Case-insensitive regexes. Sources are named for what they are instead (a model card, a
# study, a tutorial).
MAKERS_JARGON = [
    r"\bseed[ _-]?0\d\d\b",          # seed 000 ... seed 003, seed003, SEED_003
    r"\bthe seed\b",                   # a random seed is "a seed", "the random seed", "seeds"
    r"\bissue set\b", r"\bthe issues?\b",
    r"\bthe probe\b",
    r"shared/reference", r"\breference/[\w.-]+\.md\b",
    r"(?<!-)\bsessions?\b",         # not the flag --new-session
    r"\b00[0-3]_[0-9a-f]{16}\b",        # the makers' file names
]
