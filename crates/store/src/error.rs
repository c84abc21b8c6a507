#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value (a username, say) is already taken.
    #[error("{0} is already taken")]
    Conflict(&'static str),
    /// The user is banned from the guild they try to join.
    #[error("the user is banned from this guild")]
    Banned,
    /// The row a write depends on is gone (deleted concurrently, or never was).
    #[error("{0} not found")]
    Missing(&'static str),
    /// A limit on how many of something a guild or channel may hold.
    #[error("the {0:?} limit is reached")]
    Full(Capacity),
    /// The database was written by a newer Hearth: its schema is at
    /// version `found`, this binary knows versions up to `known`. Running on
    /// it could misread or damage data, so the store refuses to open.
    #[error(
        "the database schema is at version {found}, newer than this binary knows ({known}); run a newer Hearth"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("stored data could not be decoded: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// What a [`StoreError::Full`] ran out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    Roles,
    Channels,
    Overwrites,
    Webhooks,
    /// Distinct emoji on one message.
    Reactions,
    /// Application commands of one type in one scope.
    Commands,
    /// Pinned messages in one channel.
    Pins,
    /// Users in one group DM.
    Recipients,
    /// Unarchived threads in one guild.
    ActiveThreads,
    /// Members of one thread.
    ThreadMembers,
    /// Users one user blocks.
    Blocks,
    /// Usable invites of one guild.
    Invites,
}
