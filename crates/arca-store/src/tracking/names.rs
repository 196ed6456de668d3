//! Friendly names for runs and logged models that were not given one, in MLflow's
//! "adjective-noun-number" style (`tasteful-shad-731`).

const ADJECTIVES: &[&str] = &[
    "able", "bold", "brave", "bright", "calm", "clever", "crisp", "eager", "fair", "gentle",
    "glad", "grand", "keen", "kind", "lively", "lucky", "merry", "neat", "nimble", "proud",
    "quick", "quiet", "rare", "shy", "silent", "smart", "swift", "tasteful", "vivid", "wise",
];
const NOUNS: &[&str] = &[
    "ant", "bass", "bear", "cat", "colt", "crane", "deer", "dove", "eel", "finch", "fox", "gull",
    "hare", "hawk", "jay", "lark", "lynx", "mole", "newt", "owl", "panda", "quail", "seal", "shad",
    "snail", "swan", "toad", "trout", "wasp", "wren",
];

pub(crate) fn generate() -> String {
    let n = uuid::Uuid::new_v4().as_u128();
    let adjective = ADJECTIVES[(n % ADJECTIVES.len() as u128) as usize];
    let noun = NOUNS[((n >> 16) % NOUNS.len() as u128) as usize];
    format!("{adjective}-{noun}-{}", (n >> 32) % 1000)
}
