#!/usr/bin/env python3
"""Writes web/js/emoji-data.js: the unicode emoji the client offers (the
emoji picker, `:shortcode` in the composer), by category, each with its
shortcode names.

Nothing is downloaded or copied: the code points are the emoji blocks of
Unicode (plus a hand-picked list from the older symbol blocks, where most
characters are not emoji), and the names come from Python's own
`unicodedata` (its Unicode version decides what exists), lowercased with
underscores: U+1F600 GRINNING FACE is `grinning_face`. A few names people
type from habit are added as aliases (`+1`, `heart`, `joy`, `tada`…).

Run from the repository's root:  python3 web/tools/gen-emoji.py
(the output is committed; run it again after changing this script).
"""

import json
import sys
import unicodedata
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "js" / "emoji-data.js"

# Emoji blocks, whole (less what is not an emoji on its own: skin-tone
# modifiers, regional indicators, tag characters).
RANGES = [
    (0x1F300, 0x1F5FF),  # Miscellaneous Symbols and Pictographs
    (0x1F600, 0x1F64F),  # Emoticons
    (0x1F680, 0x1F6FF),  # Transport and Map Symbols
    (0x1F900, 0x1F9FF),  # Supplemental Symbols and Pictographs
    (0x1FA70, 0x1FAFF),  # Symbols and Pictographs Extended-A
]
SKIP = set(range(0x1F3FB, 0x1F400)) | set(range(0x1F1E6, 0x1F200))

# From the older blocks (Miscellaneous Symbols, Dingbats, arrows…), only
# these are commonly shown as emoji; they get U+FE0F (emoji presentation).
OLDER = [
    0x2600, 0x2601, 0x2602, 0x2603, 0x2604, 0x260E, 0x2611, 0x2614, 0x2615, 0x2618,
    0x261D, 0x2620, 0x2622, 0x2623, 0x2626, 0x262A, 0x262E, 0x262F, 0x2638, 0x2639,
    0x263A, 0x2640, 0x2642, 0x2648, 0x2649, 0x264A, 0x264B, 0x264C, 0x264D, 0x264E,
    0x264F, 0x2650, 0x2651, 0x2652, 0x2653, 0x265F, 0x2660, 0x2663, 0x2665, 0x2666,
    0x2668, 0x267B, 0x267E, 0x267F, 0x2692, 0x2693, 0x2694, 0x2695, 0x2696, 0x2697,
    0x2699, 0x269B, 0x269C, 0x26A0, 0x26A1, 0x26A7, 0x26AA, 0x26AB, 0x26B0, 0x26B1,
    0x26BD, 0x26BE, 0x26C4, 0x26C5, 0x26C8, 0x26CE, 0x26CF, 0x26D1, 0x26D3, 0x26D4,
    0x26E9, 0x26EA, 0x26F0, 0x26F1, 0x26F2, 0x26F3, 0x26F4, 0x26F5, 0x26F7, 0x26F8,
    0x26F9, 0x26FA, 0x26FD, 0x2702, 0x2705, 0x2708, 0x2709, 0x270A, 0x270B, 0x270C,
    0x270D, 0x270F, 0x2712, 0x2714, 0x2716, 0x271D, 0x2721, 0x2728, 0x2733, 0x2734,
    0x2744, 0x2747, 0x274C, 0x274E, 0x2753, 0x2754, 0x2755, 0x2757, 0x2763, 0x2764,
    0x2795, 0x2796, 0x2797, 0x27A1, 0x27B0, 0x27BF, 0x2934, 0x2935, 0x2B05, 0x2B06,
    0x2B07, 0x2B1B, 0x2B1C, 0x2B50, 0x2B55, 0x231A, 0x231B, 0x2328, 0x23CF, 0x23E9,
    0x23EA, 0x23ED, 0x23EE, 0x23EF, 0x23F0, 0x23F1, 0x23F2, 0x23F3, 0x23F8, 0x23F9,
    0x23FA, 0x24C2, 0x25AA, 0x25AB, 0x25B6, 0x25C0, 0x25FB, 0x25FC, 0x25FD, 0x25FE,
    0x2194, 0x2195, 0x2196, 0x2197, 0x2198, 0x2199, 0x21A9, 0x21AA, 0x203C, 0x2049,
    0x2122, 0x2139, 0x00A9, 0x00AE, 0x3030, 0x303D, 0x3297, 0x3299,
]

# Names people type from habit (Discord's, mostly), to a code point.
ALIASES = {
    "+1": 0x1F44D, "thumbsup": 0x1F44D, "-1": 0x1F44E, "thumbsdown": 0x1F44E,
    "heart": 0x2764, "joy": 0x1F602, "tada": 0x1F389, "smile": 0x1F604,
    "smiley": 0x1F603, "grinning": 0x1F600, "grin": 0x1F601, "laughing": 0x1F606,
    "wink": 0x1F609, "blush": 0x1F60A, "sob": 0x1F62D, "cry": 0x1F622,
    "rofl": 0x1F923, "thinking": 0x1F914, "eyes": 0x1F440, "fire": 0x1F525,
    "100": 0x1F4AF, "ok_hand": 0x1F44C, "wave": 0x1F44B, "clap": 0x1F44F,
    "pray": 0x1F64F, "skull": 0x1F480, "rocket": 0x1F680, "sparkles": 0x2728,
    "star": 0x2B50, "white_check_mark": 0x2705, "x": 0x274C, "warning": 0x26A0,
    "open_mouth": 0x1F62E, "slight_smile": 0x1F642, "upside_down": 0x1F643,
    "sunglasses": 0x1F60E, "heart_eyes": 0x1F60D, "kissing_heart": 0x1F618,
    "rage": 0x1F621, "angry": 0x1F620, "scream": 0x1F631, "sweat_smile": 0x1F605,
    "partying_face": 0x1F973, "shrug": 0x1F937, "facepalm": 0x1F926,
    "muscle": 0x1F4AA, "point_up": 0x261D, "coffee": 0x2615, "pizza": 0x1F355,
    "beer": 0x1F37A, "cat": 0x1F431, "dog": 0x1F436, "poop": 0x1F4A9,
}

# Categories, in the picker's order: by name for faces and people, then by
# the Unicode block the rest comes from.
PEOPLE_WORDS = ("HAND", "FINGER", "THUMBS", "FIST", "PALM", "PERSON", "MAN", "WOMAN",
                "BOY", "GIRL", "BABY", "PEOPLE", "EYE", "EAR", "NOSE", "MOUTH", "TONGUE",
                "LEG", "FOOT", "ARM", "BICEPS", "NAIL POLISH", "SELFIE", "WRITING HAND",
                "ADULT", "CHILD", "OLDER", "PRINCE", "PRINCESS", "BRIDE", "ANGEL", "SANTA",
                "MAGE", "FAIRY", "VAMPIRE", "MERPERSON", "ELF", "GENIE", "ZOMBIE", "DANCER",
                "KISS", "COUPLE", "FAMILY", "SILHOUETTE", "SPEAKING HEAD", "FOOTPRINTS",
                "BRAIN", "HEART ORGAN", "LUNGS", "TOOTH", "BONE", "NINJA", "GUARDSMAN")
NATURE_WORDS = ("CAT", "DOG", "MOUSE", "RABBIT", "BEAR", "PANDA", "TIGER", "LION", "COW",
                "PIG", "FROG", "MONKEY", "CHICKEN", "BIRD", "PENGUIN", "CHICK", "DUCK",
                "EAGLE", "OWL", "BAT", "WOLF", "BOAR", "HORSE", "UNICORN", "BEE", "BUG",
                "BUTTERFLY", "SNAIL", "BEETLE", "ANT", "SPIDER", "SCORPION", "TURTLE",
                "SNAKE", "LIZARD", "OCTOPUS", "SQUID", "SHRIMP", "CRAB", "FISH", "DOLPHIN",
                "WHALE", "SHARK", "CROCODILE", "LEOPARD", "ZEBRA", "GORILLA", "ELEPHANT",
                "CAMEL", "GIRAFFE", "KANGAROO", "RAM", "SHEEP", "GOAT", "DEER", "TURKEY",
                "ROOSTER", "DOVE", "PARROT", "PEACOCK", "FLAMINGO", "RACCOON", "SKUNK",
                "BADGER", "OTTER", "SLOTH", "HEDGEHOG", "DRAGON", "DINOSAUR", "SAUROPOD",
                "FLOWER", "BLOSSOM", "ROSE", "TULIP", "SUNFLOWER", "HIBISCUS", "TREE",
                "PALM TREE", "CACTUS", "HERB", "LEAF", "LEAVES", "SEEDLING", "MUSHROOM",
                "SHELL", "SUN", "MOON", "STAR", "CLOUD", "RAIN", "SNOW", "TORNADO", "FOG",
                "RAINBOW", "UMBRELLA", "DROPLET", "WATER WAVE", "COMET", "EARTH", "GLOBE",
                "MAMMOTH", "BISON", "BEAVER", "WORM", "FLY", "MOSQUITO", "COCKROACH",
                "SEAL", "MOOSE", "DONKEY", "GOOSE", "JELLYFISH", "FEATHER", "PAW", "WING")
FOOD_WORDS = ("APPLE", "PEAR", "ORANGE", "LEMON", "BANANA", "WATERMELON", "GRAPES",
              "STRAWBERR", "MELON", "CHERRIES", "PEACH", "MANGO", "PINEAPPLE", "COCONUT",
              "KIWI", "TOMATO", "AUBERGINE", "EGGPLANT", "AVOCADO", "BROCCOLI", "CUCUMBER",
              "CORN", "PEPPER", "CARROT", "POTATO", "BREAD", "CROISSANT", "BAGUETTE",
              "PRETZEL", "CHEESE", "EGG", "COOKING", "BACON", "PANCAKES", "WAFFLE",
              "POULTRY", "MEAT", "HOT DOG", "HAMBURGER", "FRENCH FRIES", "PIZZA",
              "SANDWICH", "TACO", "BURRITO", "SALAD", "POPCORN", "RICE", "CURRY", "RAMEN",
              "SPAGHETTI", "ROASTED", "SUSHI", "FRIED", "DANGO", "ODEN", "DUMPLING",
              "FORTUNE COOKIE", "ICE CREAM", "SHAVED ICE", "DOUGHNUT", "COOKIE", "CAKE",
              "CUPCAKE", "PIE", "CHOCOLATE", "CANDY", "LOLLIPOP", "CUSTARD", "HONEY",
              "BABY BOTTLE", "MILK", "COFFEE", "TEA", "SAKE", "BOTTLE", "WINE", "COCKTAIL",
              "TROPICAL DRINK", "BEER", "CLINKING", "TUMBLER", "CUP", "BEVERAGE", "MATE",
              "ICE CUBE", "CHOPSTICKS", "FORK", "SPOON", "BOWL", "GARLIC", "ONION",
              "PEANUTS", "CHESTNUT", "BUTTER", "SALT", "CANNED", "BENTO", "MOON CAKE",
              "FLATBREAD", "FALAFEL", "TAMALE", "FONDUE", "OLIVE", "BLUEBERRIES", "BEANS",
              "JAR", "POUR", "TEAPOT", "BUBBLE TEA", "DRINK", "LEAFY GREEN", "FOOD")


def category(cp, name):
    words = f" {name} "
    if "FACE" in name and "CLOCK" not in name:
        return "Smileys"
    if any(f" {w} " in words or f" {w}S " in words or name.startswith(w) for w in PEOPLE_WORDS):
        return "People"
    if any(f" {w} " in words or f" {w}S " in words for w in FOOD_WORDS) or name.startswith(("STRAWBERR",)):
        return "Food & drink"
    if any(f" {w} " in words or f" {w}S " in words for w in NATURE_WORDS):
        return "Nature"
    if 0x1F680 <= cp <= 0x1F6FF:
        return "Travel & places"
    if 0x1F3A0 <= cp <= 0x1F3FF or 0x1F93A <= cp <= 0x1F94F or 0x1FA80 <= cp <= 0x1FA8F:
        return "Activities"
    if cp < 0x1F000 or 0x1F500 <= cp <= 0x1F53F or 0x1F7E0 <= cp <= 0x1F7FF:
        return "Symbols"
    return "Objects"


ORDER = ["Smileys", "People", "Nature", "Food & drink", "Activities", "Travel & places", "Objects", "Symbols"]


def shortcode(name):
    name = name.lower()
    for tail in (" sign", " symbol"):
        if name.endswith(tail) and len(name) > len(tail) + 2:
            name = name[: -len(tail)]
    return "".join(c if c.isalnum() else "_" for c in name).strip("_")


def main():
    points = []
    for lo, hi in RANGES:
        points += [cp for cp in range(lo, hi + 1) if cp not in SKIP]
    points += OLDER
    by_cp = {}
    for cp in points:
        name = unicodedata.name(chr(cp), "")
        # Unassigned in this Unicode version, or a component (not an emoji alone).
        if not name or "COMPONENT" in name or name.startswith("EMOJI MODIFIER"):
            continue
        char = chr(cp)
        # Below the emoji blocks (and for the text-style pictographs among
        # them), U+FE0F asks for the colourful form.
        if cp < 0x1F000:
            char += "\uFE0F"
        by_cp[cp] = {"char": char, "names": [shortcode(name)], "category": category(cp, name)}
    taken = {n for e in by_cp.values() for n in e["names"]}
    for alias, cp in ALIASES.items():
        if cp in by_cp and alias not in taken:
            by_cp[cp]["names"].append(alias)
            taken.add(alias)
    groups = {c: [] for c in ORDER}
    # The Emoticons block first (its faces are the familiar ones), then by code point.
    for cp in sorted(by_cp, key=lambda cp: (not 0x1F600 <= cp <= 0x1F64F, cp)):
        e = by_cp[cp]
        groups[e["category"]].append([e["char"], *e["names"]])
    total = sum(len(v) for v in groups.values())
    lines = [
        "// Generated by web/tools/gen-emoji.py from Python's unicodedata "
        f"(Unicode {unicodedata.unidata_version}); do not edit by hand.",
        "// [category, [[emoji, name, ...aliases], ...]], in the picker's order.",
        f"// {total} emoji.",
        "export const EMOJI_GROUPS = [",
    ]
    for cat in ORDER:
        rows = ",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in groups[cat])
        lines.append(f"  [{json.dumps(cat)}, [\n{rows},\n  ]],")
    lines.append("];")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({total} emoji)", file=sys.stderr)


if __name__ == "__main__":
    main()
