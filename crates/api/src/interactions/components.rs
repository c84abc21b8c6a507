//! Checking message components and modals as Discord does: at most five
//! action rows of at most five buttons or one select menu (or, in a modal,
//! one text input), each field within its limits, custom ids unique.

use hearth_model::components::component_type as ct;
use hearth_model::Component;
use hearth_proto::FormErrors;

use crate::messages::emoji::is_unicode_emoji;

const MAX_ROWS: usize = 5;
const MAX_PER_ROW: usize = 5;

/// Where the components are going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Message,
    Modal,
}

/// Adds every problem of `rows` at `path` (`components`, `data.components`).
pub fn check(path: &str, rows: &[Component], surface: Surface, errors: &mut FormErrors) {
    if rows.len() > MAX_ROWS {
        errors.add(
            path,
            "BASE_TYPE_MAX_LENGTH",
            "Must be 5 or fewer in length.",
        );
        return;
    }
    if surface == Surface::Modal && rows.is_empty() {
        errors.add(path, "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.");
    }
    let mut custom_ids: Vec<&str> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let rp = format!("{path}.{i}");
        match row.kind {
            ct::ACTION_ROW => check_row(&rp, row, surface, &mut custom_ids, errors),
            ct::LABEL if surface == Surface::Modal => {
                check_label(&rp, row, &mut custom_ids, errors)
            }
            _ => errors.add(
                &format!("{rp}.type"),
                "COMPONENT_TYPE_INVALID",
                "Top-level components must be action rows (or, in a modal, labels)",
            ),
        }
    }
}

fn check_row<'a>(
    rp: &str,
    row: &'a Component,
    surface: Surface,
    custom_ids: &mut Vec<&'a str>,
    errors: &mut FormErrors,
) {
    let children = row.components.as_deref().unwrap_or_default();
    if children.is_empty() || children.len() > MAX_PER_ROW {
        errors.add(
            &format!("{rp}.components"),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 5 in length.",
        );
        return;
    }
    let selects = children.iter().filter(|c| is_select(c.kind)).count();
    let inputs = children.iter().filter(|c| c.kind == ct::TEXT_INPUT).count();
    let width_ok = match surface {
        Surface::Message => inputs == 0 && (selects == 0 || children.len() == 1),
        Surface::Modal => inputs == 1 && children.len() == 1,
    };
    if !width_ok {
        errors.add(
            &format!("{rp}.components"),
            "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
            "The specified component exceeds the maximum width",
        );
    }
    for (j, c) in children.iter().enumerate() {
        let cp = format!("{rp}.components.{j}");
        check_one(&cp, c, false, errors);
        unique_id(&cp, c, custom_ids, errors);
    }
}

/// A modal's labelled field: the label, and one text input or select.
fn check_label<'a>(
    rp: &str,
    label: &'a Component,
    custom_ids: &mut Vec<&'a str>,
    errors: &mut FormErrors,
) {
    match &label.label {
        Some(l) => errors.check_len(&format!("{rp}.label"), l, 1, 45),
        None => errors.add(
            &format!("{rp}.label"),
            "BASE_TYPE_REQUIRED",
            "This field is required",
        ),
    }
    if let Some(d) = &label.description {
        errors.check_len(&format!("{rp}.description"), d, 0, 100);
    }
    if label.components.is_some() {
        errors.add(
            &format!("{rp}.components"),
            "COMPONENT_TYPE_INVALID",
            "A label holds one component",
        );
    }
    match label.component.as_deref() {
        Some(inner) if inner.kind == ct::TEXT_INPUT || is_select(inner.kind) => {
            let cp = format!("{rp}.component");
            check_one(&cp, inner, true, errors);
            unique_id(&cp, inner, custom_ids, errors);
        }
        _ => errors.add(
            &format!("{rp}.component"),
            "COMPONENT_TYPE_INVALID",
            "A label holds one text input or select menu",
        ),
    }
}

fn unique_id<'a>(
    cp: &str,
    c: &'a Component,
    custom_ids: &mut Vec<&'a str>,
    errors: &mut FormErrors,
) {
    if let Some(id) = c.custom_id.as_deref() {
        if custom_ids.contains(&id) {
            errors.add(
                &format!("{cp}.custom_id"),
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            );
        }
        custom_ids.push(id);
    }
}

fn is_select(kind: u8) -> bool {
    matches!(
        kind,
        ct::STRING_SELECT
            | ct::USER_SELECT
            | ct::ROLE_SELECT
            | ct::MENTIONABLE_SELECT
            | ct::CHANNEL_SELECT
    )
}

fn check_custom_id(p: &str, c: &Component, errors: &mut FormErrors) {
    match c.custom_id.as_deref() {
        Some(id) => errors.check_len(&format!("{p}.custom_id"), id, 1, 100),
        None => errors.add(
            &format!("{p}.custom_id"),
            "BASE_TYPE_REQUIRED",
            "This field is required",
        ),
    }
}

/// A component's emoji: a unicode emoji (there are no custom ones).
fn check_emoji(p: &str, emoji: &Option<hearth_model::Emoji>, errors: &mut FormErrors) {
    let Some(e) = emoji else { return };
    let ok = e.id.is_none() && e.name.as_deref().is_some_and(is_unicode_emoji);
    if !ok {
        errors.add(p, "COMPONENT_EMOJI_INVALID", "Invalid emoji");
    }
}

fn check_one(p: &str, c: &Component, in_label: bool, errors: &mut FormErrors) {
    check_emoji(&format!("{p}.emoji"), &c.emoji, errors);
    if c.components.is_some() || c.component.is_some() {
        errors.add(
            &format!("{p}.components"),
            "COMPONENT_TYPE_INVALID",
            "Only action rows hold components",
        );
    }
    if let Some(label) = &c.label {
        let max = if c.kind == ct::TEXT_INPUT { 45 } else { 80 };
        errors.check_len(&format!("{p}.label"), label, 1, max);
    }
    if let Some(ph) = &c.placeholder {
        let max = if c.kind == ct::TEXT_INPUT { 100 } else { 150 };
        errors.check_len(&format!("{p}.placeholder"), ph, 0, max);
    }
    match c.kind {
        ct::BUTTON => match c.style {
            Some(1..=4) => {
                check_custom_id(p, c, errors);
                if c.url.is_some() {
                    errors.add(
                        &format!("{p}.url"),
                        "BUTTON_COMPONENT_URL_NOT_ALLOWED",
                        "A button with a custom id cannot have a url",
                    );
                }
                if c.label.is_none() && c.emoji.is_none() {
                    errors.add(
                        &format!("{p}.label"),
                        "BUTTON_COMPONENT_LABEL_REQUIRED",
                        "A button needs a label or an emoji",
                    );
                }
            }
            Some(5) => {
                let url_ok = c.url.as_deref().is_some_and(|u| {
                    u.len() <= 512
                        && (u.starts_with("https://")
                            || u.starts_with("http://")
                            || u.starts_with("discord://"))
                });
                if !url_ok {
                    errors.add(
                        &format!("{p}.url"),
                        "BUTTON_COMPONENT_URL_REQUIRED",
                        "A link button needs an http(s) url of at most 512 characters",
                    );
                }
                if c.custom_id.is_some() {
                    errors.add(
                        &format!("{p}.custom_id"),
                        "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                        "A link button cannot have a custom id",
                    );
                }
            }
            _ => errors.add(
                &format!("{p}.style"),
                "BASE_TYPE_CHOICES",
                "Value must be one of (1, 2, 3, 4, 5).",
            ),
        },
        k if is_select(k) => {
            check_custom_id(p, c, errors);
            let min = c.min_values.unwrap_or(1);
            let max = c.max_values.unwrap_or(1);
            if min > 25 || !(1..=25).contains(&max) || min > max {
                errors.add(
                    &format!("{p}.max_values"),
                    "SELECT_COMPONENT_VALUES_INVALID",
                    "min_values and max_values must be within 0 and 25, min at most max",
                );
            }
            let options = c.options.as_deref().unwrap_or_default();
            if k == ct::STRING_SELECT {
                if options.is_empty() || options.len() > 25 {
                    errors.add(
                        &format!("{p}.options"),
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 25 in length.",
                    );
                } else if usize::from(max) > options.len() {
                    errors.add(
                        &format!("{p}.max_values"),
                        "SELECT_COMPONENT_VALUES_INVALID",
                        "max_values cannot exceed the number of options",
                    );
                }
                for (i, o) in options.iter().enumerate() {
                    errors.check_len(&format!("{p}.options.{i}.label"), &o.label, 1, 100);
                    errors.check_len(&format!("{p}.options.{i}.value"), &o.value, 1, 100);
                    check_emoji(&format!("{p}.options.{i}.emoji"), &o.emoji, errors);
                    if let Some(d) = &o.description {
                        errors.check_len(&format!("{p}.options.{i}.description"), d, 0, 100);
                    }
                    if options[..i].iter().any(|x| x.value == o.value) {
                        errors.add(
                            &format!("{p}.options.{i}.value"),
                            "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                            "Select option values must be unique",
                        );
                    }
                }
            } else if !options.is_empty() {
                errors.add(
                    &format!("{p}.options"),
                    "SELECT_COMPONENT_OPTIONS_NOT_ALLOWED",
                    "Only string selects have options",
                );
            }
            if c.default_values.as_ref().is_some_and(|d| d.len() > 25) {
                errors.add(
                    &format!("{p}.default_values"),
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 25 or fewer in length.",
                );
            }
        }
        ct::TEXT_INPUT => {
            check_custom_id(p, c, errors);
            if !matches!(c.style, Some(1 | 2)) {
                errors.add(
                    &format!("{p}.style"),
                    "BASE_TYPE_CHOICES",
                    "Value must be one of (1, 2).",
                );
            }
            // Inside a label, the label is the label's.
            if c.label.is_none() && !in_label {
                errors.add(
                    &format!("{p}.label"),
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                );
            }
            let lo = c.min_length.unwrap_or(0);
            let hi = c.max_length.unwrap_or(4000);
            if lo > 4000 || !(1..=4000).contains(&hi) || lo > hi {
                errors.add(
                    &format!("{p}.max_length"),
                    "TEXT_INPUT_LENGTH_INVALID",
                    "Lengths must be within 0 and 4000, min at most max",
                );
            }
            if let Some(v) = &c.value {
                errors.check_len(&format!("{p}.value"), v, 0, 4000);
            }
        }
        _ => errors.add(
            &format!("{p}.type"),
            "COMPONENT_TYPE_INVALID",
            "Unknown component type",
        ),
    }
}

/// The component with `custom_id` in a message's rows, if any.
/// (Messages hold action rows only; labels are the modals'.)
pub fn find<'a>(rows: &'a [Component], custom_id: &str) -> Option<&'a Component> {
    rows.iter()
        .flat_map(|r| r.components.as_deref().unwrap_or_default())
        .find(|c| c.custom_id.as_deref() == Some(custom_id))
}

/// Gives every component without an `id` the next free one, in tree
/// order, as Discord does (libraries such as twilight require them on
/// modal submits).
pub fn number(rows: &mut [Component]) {
    fn used(rows: &[Component], ids: &mut Vec<u32>) {
        for c in rows {
            ids.extend(c.id);
            used(c.components.as_deref().unwrap_or_default(), ids);
            used(
                c.component
                    .as_deref()
                    .map(std::slice::from_ref)
                    .unwrap_or_default(),
                ids,
            );
        }
    }
    fn assign(rows: &mut [Component], ids: &mut Vec<u32>, next: &mut u32) {
        for c in rows {
            if c.id.is_none() {
                while ids.contains(next) {
                    *next += 1;
                }
                c.id = Some(*next);
                ids.push(*next);
            }
            if let Some(children) = c.components.as_mut() {
                assign(children, ids, next);
            }
            if let Some(inner) = c.component.as_mut() {
                assign(std::slice::from_mut(inner.as_mut()), ids, next);
            }
        }
    }
    let mut ids = Vec::new();
    used(rows, &mut ids);
    assign(rows, &mut ids, &mut 1);
}

#[cfg(test)]
mod tests {
    use super::number;
    use hearth_model::Component;

    #[test]
    fn ids_fill_the_gaps_in_tree_order() {
        let leaf = |id| Component {
            kind: 2,
            id,
            ..Default::default()
        };
        let mut rows = vec![Component {
            kind: 1,
            components: Some(vec![leaf(None), leaf(Some(2)), leaf(None)]),
            ..Default::default()
        }];
        number(&mut rows);
        let inner: Vec<_> = rows[0]
            .components
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(rows[0].id, Some(1));
        assert_eq!(inner, [Some(3), Some(2), Some(4)]);
    }
}
