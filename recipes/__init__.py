"""Recipe settings, installed as `asr_recipes` so `asr run` finds them anywhere."""
