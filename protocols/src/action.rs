//! The one definition of a service's action enum, shared by SQS, SNS and Kinesis: every service
//! routes on an enum with one variant per operation, parsed from and printed as its wire name.

/// Defines `$enum` with one variant per listed operation, `ALL` (in the order listed),
/// `from_name` (case-sensitive, as AWS) and `name` (the wire name, also the bounded metric label).
macro_rules! action_enum {
    ($(#[$meta:meta])* $enum:ident { $($variant:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $enum {
            $(
                #[doc = concat!("The `", stringify!($variant), "` operation.")]
                $variant,
            )*
        }

        impl $enum {
            /// Every action, in the order the service's module lists them.
            pub const ALL: &'static [$enum] = &[$($enum::$variant),*];

            /// Parses a wire name; `None` for anything else.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($variant) => Some($enum::$variant),)*
                    _ => None,
                }
            }

            /// The wire name.
            pub fn name(self) -> &'static str {
                match self {
                    $($enum::$variant => stringify!($variant),)*
                }
            }
        }
    };
}

pub(crate) use action_enum;
