//! Checking the options a user filled in against the command's definition:
//! the path through subcommands, each option's type, range, length and
//! choices, required ones present. What passes is what the application
//! receives; the ids it names are resolved afterwards.

use hearth_model::commands::option_type as ot;
use hearth_model::{ChoiceValue, CommandOption, Snowflake};
use hearth_proto::interactions::InvokeOption;
use hearth_proto::FormErrors;
use serde_json::Value;

/// Ids the options name, to resolve into objects.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Named {
    pub users: Vec<Snowflake>,
    pub roles: Vec<Snowflake>,
    /// With the channel types the option allows (none: any).
    pub channels: Vec<(Snowflake, Option<Vec<u8>>)>,
    /// A user or a role: whichever it turns out to be.
    pub mentionables: Vec<Snowflake>,
}

/// Checks `given` against `defined`, adding problems under `path`.
pub fn check(
    path: &str,
    defined: &[CommandOption],
    given: &[InvokeOption],
    named: &mut Named,
    errors: &mut FormErrors,
) {
    if given.len() > defined.len().max(1) {
        errors.add(
            path,
            "BASE_TYPE_MAX_LENGTH",
            "More options than the command has.",
        );
        return;
    }
    for (i, g) in given.iter().enumerate() {
        let p = format!("{path}.{i}");
        let Some(d) = defined.iter().find(|d| d.name == g.name) else {
            errors.add(
                &format!("{p}.name"),
                "APPLICATION_COMMAND_OPTION_UNKNOWN",
                "The command has no option of that name",
            );
            continue;
        };
        if given[..i].iter().any(|x| x.name == g.name) {
            errors.add(
                &format!("{p}.name"),
                "APPLICATION_COMMAND_OPTION_DUPLICATED",
                "Option given twice",
            );
        }
        if g.kind != d.kind {
            errors.add(
                &format!("{p}.type"),
                "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                "Option type does not match the command",
            );
            continue;
        }
        match d.kind {
            ot::SUB_COMMAND | ot::SUB_COMMAND_GROUP => {
                if given.len() != 1 {
                    errors.add(
                        path,
                        "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                        "Exactly one sub-command must be chosen",
                    );
                }
                check(
                    &format!("{p}.options"),
                    d.options.as_deref().unwrap_or_default(),
                    &g.options,
                    named,
                    errors,
                );
                continue;
            }
            _ => {}
        }
        if !g.options.is_empty() {
            errors.add(
                &format!("{p}.options"),
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Only sub-commands have options",
            );
        }
        match &g.value {
            Some(v) => check_value(&format!("{p}.value"), d, v, g.focused, named, errors),
            None => errors.add(
                &format!("{p}.value"),
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ),
        }
    }
    // A subcommand level needs one chosen; a plain level its required ones.
    let has_subcommands = defined
        .iter()
        .any(|d| matches!(d.kind, ot::SUB_COMMAND | ot::SUB_COMMAND_GROUP));
    if has_subcommands && given.is_empty() {
        errors.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Exactly one sub-command must be chosen",
        );
    }
    for d in defined.iter().filter(|d| d.required) {
        if !given.iter().any(|g| g.name == d.name) {
            errors.add(
                path,
                "APPLICATION_COMMAND_OPTION_REQUIRED",
                format!("Option \"{}\" is required", d.name),
            );
        }
    }
}

fn snowflake_of(v: &Value) -> Option<Snowflake> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64().map(Snowflake),
        _ => None,
    }
}

fn check_value(
    p: &str,
    d: &CommandOption,
    v: &Value,
    focused: bool,
    named: &mut Named,
    errors: &mut FormErrors,
) {
    let in_choices = |v: &Value| match &d.choices {
        Some(choices) if !choices.is_empty() => choices.iter().any(|c| match (&c.value, v) {
            (ChoiceValue::Text(t), Value::String(s)) => t == s,
            (ChoiceValue::Number(n), Value::Number(m)) => n.as_f64() == m.as_f64(),
            _ => false,
        }),
        _ => true,
    };
    let bad = |errors: &mut FormErrors, msg: &str| {
        errors.add(p, "APPLICATION_COMMAND_OPTION_VALUE_INVALID", msg)
    };
    match d.kind {
        ot::STRING => match v.as_str() {
            // The option being typed (autocomplete) may be incomplete.
            Some(s) if focused => {
                if s.chars().count() > 6000 {
                    bad(errors, "Too long");
                }
            }
            Some(s) => {
                let n = s.chars().count() as u32;
                if n < d.min_length.unwrap_or(0) || n > d.max_length.unwrap_or(6000) {
                    bad(errors, "Length out of range");
                }
                if !in_choices(v) {
                    bad(errors, "Not one of the choices");
                }
            }
            None => bad(errors, "Must be a string"),
        },
        ot::INTEGER | ot::NUMBER => {
            let number = match v {
                Value::Number(n) if d.kind == ot::NUMBER || n.is_i64() || n.is_u64() => n.as_f64(),
                Value::String(s) if focused => s.parse::<f64>().ok().or(Some(0.0)),
                _ => None,
            };
            match number {
                Some(x) if !focused => {
                    let lo = d.min_value.as_ref().and_then(|n| n.as_f64());
                    let hi = d.max_value.as_ref().and_then(|n| n.as_f64());
                    if lo.is_some_and(|lo| x < lo) || hi.is_some_and(|hi| x > hi) || !x.is_finite()
                    {
                        bad(errors, "Out of range");
                    }
                    if !in_choices(v) {
                        bad(errors, "Not one of the choices");
                    }
                }
                Some(_) => {}
                None => bad(
                    errors,
                    if d.kind == ot::INTEGER {
                        "Must be an integer"
                    } else {
                        "Must be a number"
                    },
                ),
            }
        }
        ot::BOOLEAN => {
            if !v.is_boolean() {
                bad(errors, "Must be a boolean");
            }
        }
        ot::USER | ot::ROLE | ot::CHANNEL | ot::MENTIONABLE => match snowflake_of(v) {
            Some(id) => match d.kind {
                ot::USER => named.users.push(id),
                ot::ROLE => named.roles.push(id),
                ot::CHANNEL => named.channels.push((id, d.channel_types.clone())),
                _ => named.mentionables.push(id),
            },
            None => bad(errors, "Must be a snowflake"),
        },
        // Hearth stores no files yet.
        _ => bad(errors, "Attachments are not supported"),
    }
}
