//! The receiver code shown beside a webhook's signing secret, one complete handler per language;
//! the same text the tests run (src/ui/snippets/*).

/// What stands for the secret until it is revealed.
pub const SECRET_MARK: &str = "{{SECRET}}";

/// A receiver in one language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snippet {
    /// Short and stable: `python`, `node`, `go`, `php`, `ruby`, `rust`.
    pub id: &'static str,
    pub label: &'static str,
    /// Its Standard Webhooks library, as the package manager names it.
    pub library: &'static str,
    /// The code, with [`SECRET_MARK`] where the secret goes.
    pub code: &'static str,
}

pub const SNIPPETS: [Snippet; 6] = [
    Snippet {
        id: "python",
        label: "Python",
        library: "pip install standardwebhooks",
        code: include_str!("snippets/verify.py"),
    },
    Snippet {
        id: "node",
        label: "Node.js",
        library: "npm install standardwebhooks",
        code: include_str!("snippets/verify.mjs"),
    },
    Snippet {
        id: "go",
        label: "Go",
        library: "go get github.com/standard-webhooks/standard-webhooks/libraries",
        code: include_str!("snippets/verify.go"),
    },
    Snippet {
        id: "php",
        label: "PHP",
        library: "composer require standard-webhooks/standard-webhooks",
        code: include_str!("snippets/verify.php"),
    },
    Snippet {
        id: "ruby",
        label: "Ruby",
        library: "gem install standardwebhooks",
        code: include_str!("snippets/verify.rb"),
    },
    Snippet {
        id: "rust",
        label: "Rust",
        library: "cargo add standardwebhooks",
        code: include_str!("snippets/verify.rs"),
    },
];

impl Snippet {
    pub fn by_id(id: &str) -> Option<Snippet> {
        SNIPPETS.into_iter().find(|s| s.id == id)
    }

    /// The code as the panel shows it: with the secret once revealed, else a note to reveal it.
    pub fn text(&self, secret: Option<&str>) -> String {
        self.code.replace(
            SECRET_MARK,
            secret.unwrap_or("whsec_… (Reveal secret fills it in)"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_snippet_takes_the_secret_once_and_checks_both_signatures() {
        for s in SNIPPETS {
            assert_eq!(s.code.matches(SECRET_MARK).count(), 1, "{}", s.id);
            let text = s.text(Some("whsec_abc"));
            assert!(
                text.contains("\"whsec_abc\"") || text.contains("'whsec_abc'"),
                "{}",
                s.id
            );
            assert!(
                text.contains("x-timekit-signature") || text.contains("X_TIMEKIT_SIGNATURE"),
                "{}",
                s.id
            );
            assert!(
                text.contains("webhook-id") || text.contains("WEBHOOK_ID"),
                "{}",
                s.id
            );
            assert_eq!(Snippet::by_id(s.id), Some(s));
        }
    }
}
