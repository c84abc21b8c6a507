//! Checking application command definitions as Discord does: names,
//! lengths, counts, option nesting and order, choices and ranges. Every
//! problem is reported at its path in one 50035, and nothing is stored
//! unless the whole definition passes.

use hearth_model::commands::{command_type, option_type, Localizations};
use hearth_model::{ChoiceValue, CommandOption};
use hearth_proto::FormErrors;

/// Options (or subcommands) per level, and choices per option.
pub const MAX_OPTIONS: usize = 25;
/// The characters of a command's names, descriptions and choices together.
const MAX_TOTAL_CHARS: usize = 8000;

/// The locales Discord accepts as localization keys.
const LOCALES: &[&str] = &[
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th",
    "zh-CN", "ja", "zh-TW", "ko",
];

/// A slash command's (or option's) name: 1–32 letters, digits, `-` and
/// `_`, lowercase where a letter has case.
pub fn is_chat_input_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=32).contains(&n)
        && name.chars().all(|c| {
            (c.is_alphanumeric() || c == '-' || c == '_' || c == '\'')
                && !c.is_uppercase()
                && !c.is_whitespace()
        })
}

fn check_localizations(
    path: &str,
    loc: &Option<Localizations>,
    chat_input_name: bool,
    max: usize,
    errors: &mut FormErrors,
) {
    let Some(loc) = loc else { return };
    for (locale, value) in loc {
        if !LOCALES.contains(&locale.as_str()) {
            errors.add(
                &format!("{path}.{locale}"),
                "LOCALE_INVALID",
                format!("Invalid locale \"{locale}\"."),
            );
            continue;
        }
        let n = value.chars().count();
        let bad = if chat_input_name {
            !is_chat_input_name(value)
        } else {
            !(1..=max).contains(&n)
        };
        if bad {
            errors.add(
                &format!("{path}.{locale}"),
                "APPLICATION_COMMAND_INVALID_LOCALIZATION",
                format!("Must be between 1 and {max} in length and valid for its field."),
            );
        }
    }
}

/// What a command definition holds, for the checks.
pub struct Definition<'a> {
    pub kind: u8,
    pub name: &'a str,
    pub description: &'a str,
    pub name_localizations: &'a Option<Localizations>,
    pub description_localizations: &'a Option<Localizations>,
    pub options: &'a [CommandOption],
}

/// Adds every problem of `def` under `path` (`""` for a single command,
/// `"3"` for the fourth of a bulk overwrite).
pub fn check(path: &str, def: &Definition<'_>, errors: &mut FormErrors) {
    let at = |field: &str| {
        if path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        }
    };
    match def.kind {
        command_type::CHAT_INPUT => {
            if !is_chat_input_name(def.name) {
                errors.add(
                    &at("name"),
                    "APPLICATION_COMMAND_INVALID_NAME",
                    "Command name is invalid",
                );
            }
            errors.check_len(&at("description"), def.description, 1, 100);
            check_localizations(
                &at("name_localizations"),
                def.name_localizations,
                true,
                32,
                errors,
            );
            check_localizations(
                &at("description_localizations"),
                def.description_localizations,
                false,
                100,
                errors,
            );
            check_options(&at("options"), def.options, 0, errors);
        }
        command_type::USER | command_type::MESSAGE => {
            errors.check_len(&at("name"), def.name, 1, 32);
            if !def.description.is_empty() {
                errors.add(
                    &at("description"),
                    "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                    "Context menu commands cannot have description",
                );
            }
            if !def.options.is_empty() {
                errors.add(
                    &at("options"),
                    "APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS",
                    "Context menu commands cannot have options",
                );
            }
            check_localizations(
                &at("name_localizations"),
                def.name_localizations,
                false,
                32,
                errors,
            );
        }
        _ => errors.add(
            &at("type"),
            "BASE_TYPE_CHOICES",
            "Value must be one of (1, 2, 3).",
        ),
    }
    if total_chars(def) > MAX_TOTAL_CHARS {
        errors.add(
            &at(""),
            "APPLICATION_COMMAND_TOO_LARGE",
            "Command exceeds maximum size (8000)",
        );
    }
}

fn total_chars(def: &Definition<'_>) -> usize {
    fn options(opts: &[CommandOption]) -> usize {
        opts.iter()
            .map(|o| {
                o.name.chars().count()
                    + o.description.chars().count()
                    + o.choices
                        .as_deref()
                        .unwrap_or_default()
                        .iter()
                        .map(|c| {
                            c.name.chars().count()
                                + match &c.value {
                                    ChoiceValue::Text(t) => t.chars().count(),
                                    ChoiceValue::Number(n) => n.to_string().len(),
                                }
                        })
                        .sum::<usize>()
                    + options(o.options.as_deref().unwrap_or_default())
            })
            .sum()
    }
    def.name.chars().count() + def.description.chars().count() + options(def.options)
}

/// `depth` 0: the command's own options; 1: a subcommand's or a group's.
fn check_options(path: &str, opts: &[CommandOption], depth: u8, errors: &mut FormErrors) {
    if opts.len() > MAX_OPTIONS {
        errors.add(
            path,
            "BASE_TYPE_MAX_LENGTH",
            "Must be 25 or fewer in length.",
        );
        return;
    }
    let subs = opts
        .iter()
        .filter(|o| {
            matches!(
                o.kind,
                option_type::SUB_COMMAND | option_type::SUB_COMMAND_GROUP
            )
        })
        .count();
    if subs > 0 && subs < opts.len() {
        errors.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive to all other types",
        );
    }
    let mut seen_optional = false;
    for (i, o) in opts.iter().enumerate() {
        let p = format!("{path}.{i}");
        if !is_chat_input_name(&o.name) {
            errors.add(
                &format!("{p}.name"),
                "APPLICATION_COMMAND_INVALID_NAME",
                "Command name is invalid",
            );
        }
        if opts[..i].iter().any(|x| x.name == o.name) {
            errors.add(
                &format!("{p}.name"),
                "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                "Option name already exists",
            );
        }
        errors.check_len(&format!("{p}.description"), &o.description, 1, 100);
        check_localizations(
            &format!("{p}.name_localizations"),
            &o.name_localizations,
            true,
            32,
            errors,
        );
        check_localizations(
            &format!("{p}.description_localizations"),
            &o.description_localizations,
            false,
            100,
            errors,
        );
        if o.required && seen_optional {
            errors.add(
                &p,
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            );
        }
        seen_optional |= !o.required;
        check_option(&p, o, depth, errors);
    }
}

fn check_option(p: &str, o: &CommandOption, depth: u8, errors: &mut FormErrors) {
    let numeric = matches!(o.kind, option_type::INTEGER | option_type::NUMBER);
    let nested = o.options.as_deref().unwrap_or_default();
    match o.kind {
        option_type::SUB_COMMAND_GROUP => {
            if depth > 0 {
                errors.add(
                    &format!("{p}.type"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-command groups can only be top-level options",
                );
            }
            if nested.iter().any(|n| n.kind != option_type::SUB_COMMAND) {
                errors.add(
                    &format!("{p}.options"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-command groups may only contain sub-commands",
                );
            }
            check_options(&format!("{p}.options"), nested, depth + 1, errors);
        }
        option_type::SUB_COMMAND => {
            if depth > 1 {
                errors.add(
                    &format!("{p}.type"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-commands are nested too deep",
                );
            }
            if nested.iter().any(|n| {
                matches!(
                    n.kind,
                    option_type::SUB_COMMAND | option_type::SUB_COMMAND_GROUP
                )
            }) {
                errors.add(
                    &format!("{p}.options"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-commands may not contain sub-commands",
                );
            } else {
                check_options(&format!("{p}.options"), nested, 2, errors);
            }
        }
        option_type::STRING..=option_type::ATTACHMENT => {
            if !nested.is_empty() {
                errors.add(
                    &format!("{p}.options"),
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Only sub-commands and groups have options",
                );
            }
        }
        _ => errors.add(
            &format!("{p}.type"),
            "BASE_TYPE_CHOICES",
            "Value must be one of (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11).",
        ),
    }
    if let Some(choices) = &o.choices {
        let takes_choices = matches!(o.kind, option_type::STRING) || numeric;
        if !takes_choices {
            errors.add(
                &format!("{p}.choices"),
                "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
                "Only string, integer and number options have choices",
            );
        }
        if choices.len() > MAX_OPTIONS {
            errors.add(
                &format!("{p}.choices"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            );
        }
        if o.autocomplete && !choices.is_empty() {
            errors.add(
                &format!("{p}.autocomplete"),
                "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                "Autocomplete cannot be set with choices",
            );
        }
        for (j, c) in choices.iter().enumerate() {
            let cp = format!("{p}.choices.{j}");
            errors.check_len(&format!("{cp}.name"), &c.name, 1, 100);
            let fits = match (&c.value, o.kind) {
                (ChoiceValue::Text(t), option_type::STRING) => {
                    (1..=100).contains(&t.chars().count())
                }
                (ChoiceValue::Number(n), option_type::INTEGER) => n.is_i64() || n.is_u64(),
                (ChoiceValue::Number(_), option_type::NUMBER) => true,
                _ => false,
            };
            if !fits {
                errors.add(
                    &format!("{cp}.value"),
                    "APPLICATION_COMMAND_OPTION_CHOICE_VALUE_INVALID",
                    "Choice value does not fit the option's type",
                );
            }
        }
    }
    if (o.min_value.is_some() || o.max_value.is_some()) && !numeric {
        errors.add(
            &format!("{p}.min_value"),
            "APPLICATION_COMMAND_OPTION_RANGE_INVALID",
            "Only integer and number options have a range",
        );
    }
    if let (Some(lo), Some(hi)) = (&o.min_value, &o.max_value) {
        if lo.as_f64().unwrap_or(0.0) > hi.as_f64().unwrap_or(0.0) {
            errors.add(
                &format!("{p}.max_value"),
                "APPLICATION_COMMAND_OPTION_RANGE_INVALID",
                "max_value must be at least min_value",
            );
        }
    }
    if o.min_length.is_some() || o.max_length.is_some() {
        if o.kind != option_type::STRING {
            errors.add(
                &format!("{p}.min_length"),
                "APPLICATION_COMMAND_OPTION_LENGTH_INVALID",
                "Only string options have lengths",
            );
        }
        if o.min_length.unwrap_or(0) > 6000
            || o.max_length.is_some_and(|m| !(1..=6000).contains(&m))
            || o.min_length.unwrap_or(0) > o.max_length.unwrap_or(6000)
        {
            errors.add(
                &format!("{p}.max_length"),
                "APPLICATION_COMMAND_OPTION_LENGTH_INVALID",
                "Lengths must be within 0 and 6000, min at most max",
            );
        }
    }
    if o.channel_types.is_some() && o.kind != option_type::CHANNEL {
        errors.add(
            &format!("{p}.channel_types"),
            "APPLICATION_COMMAND_OPTION_CHANNEL_TYPES_INVALID",
            "Only channel options have channel types",
        );
    }
    if o.autocomplete && !(numeric || o.kind == option_type::STRING) {
        errors.add(
            &format!("{p}.autocomplete"),
            "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
            "Only string, integer and number options autocomplete",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::is_chat_input_name;

    #[test]
    fn names() {
        for ok in ["ping", "roll-dice", "über", "x_1", "日本"] {
            assert!(is_chat_input_name(ok), "{ok}");
        }
        for bad in ["", "Ping", "two words", "emoji👍", &"a".repeat(33)] {
            assert!(!is_chat_input_name(bad), "{bad}");
        }
    }
}
