//! Macros that spell each wire shape once: a response DTO with its conversion
//! from the core record, a create body with its conversion into the core's
//! input, and a change (PATCH) body whose fields may be absent but not null.
//!
//! Fields move across through `Into` — the same type, or a core enum into its
//! wire mirror in `enums.rs` — unless `= expr` says how; `expr` reads the value
//! being converted under the name given after `as`.

/// Declares a response DTO and `impl From<$core> for $name`.
macro_rules! response_dto {
    ($(#[$meta:meta])* $name:ident from $core:ty as $src:ident {
        $($(#[$fmeta:meta])* $field:ident : $ty:ty $(= $conv:expr)?),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub(crate) struct $name {
            $($(#[$fmeta])* $field: $ty),+
        }

        impl From<$core> for $name {
            fn from($src: $core) -> Self {
                $name { $($field: $crate::dto::convert!($src.$field $(, $conv)?)),+ }
            }
        }
    };
}

/// Declares a create body (unknown fields refused) and
/// `impl From<$name> for $core`, which takes exactly the body's fields.
macro_rules! create_dto {
    ($(#[$meta:meta])* $name:ident into $core:path as $src:ident {
        $($(#[$fmeta:meta])* $field:ident : $ty:ty $(= $conv:expr)?),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $name {
            $($(#[$fmeta])* $field: $ty),+
        }

        impl From<$name> for $core {
            fn from($src: $name) -> Self {
                $core { $($field: $crate::dto::convert!($src.$field $(, $conv)?)),+ }
            }
        }
    };
}

/// Declares a change body: every field is optional, absent keeps the current
/// value and `null` is refused (`json::present`); the OpenAPI document says
/// so (`nullable: false`). Extra `[…]` after a type are more `#[schema(…)]`
/// settings. Converts into `$core` like `create_dto!`.
macro_rules! change_dto {
    ($(#[$meta:meta])* $name:ident into $core:path as $src:ident {
        $($(#[$fmeta:meta])* $field:ident : $ty:ty $([$($schema:tt)*])? $(= $conv:expr)?),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default, deserialize_with = "crate::json::present")]
                #[schema(nullable = false $(, $($schema)*)?)]
                $field: Option<$ty>
            ),+
        }

        impl From<$name> for $core {
            fn from($src: $name) -> Self {
                $core { $($field: $crate::dto::convert!($src.$field $(, $conv)?)),+ }
            }
        }
    };
}

/// One field's conversion: `Into` by default, else the given expression.
macro_rules! convert {
    ($src:ident . $field:ident) => {
        $src.$field.into()
    };
    ($src:ident . $field:ident, $conv:expr) => {
        $conv
    };
}

pub(crate) use {change_dto, convert, create_dto, response_dto};
