//! The hub the terminals sync with: mirrors statuses, takes their operations, makes documents.
