//! `toy lsp`, driven over stdio as an editor drives it: JSON-RPC requests and
//! notifications in, responses and diagnostics out.

#[path = "lsp/client.rs"]
mod client;

use std::process::Command;

use client::{Client, at, position_of};
use serde_json::{Value, json};

const URI: &str = "file:///work/program.ks";

/// A program with user operators, locals, recursion and an extern, then a line with
/// two errors after non-ASCII text (a comment before, an emoji before the second).
const PROGRAM: &str = "# Kaleidoscope — naïve 😀 operators
def binary| 5 (a b) if a then 1 else if b then 1 else 0;
def unary!(v) if v then 0 else 1;
def fib(x)
  if x < 3 then 1 else fib(x-1) + fib(x-2);
extern printd(x);
def count(n)
  var total = 0 in
    (for i = 0, i < n in total = total + i) | total;
printd(fib(10) | !0);
# ü, then errors: 😀 is no token
😀; nope;
";

/// Where the `nth` `needle` starts, as an LSP position.
fn pos(needle: &str, nth: usize) -> Value {
    let (line, character) = position_of(PROGRAM, needle, nth);
    at(URI, line, character)
}

/// `[[start line, start character], [end line, end character]]` of an LSP range.
fn span(range: &Value) -> [[u64; 2]; 2] {
    let point = |p: &Value| {
        [
            p["line"].as_u64().expect("line"),
            p["character"].as_u64().expect("character"),
        ]
    };
    [point(&range["start"]), point(&range["end"])]
}

/// The CLI's diagnostics for `text`: (message, "LINE:COL") in order.
fn cli_diagnostics(text: &str) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("program.ks");
    std::fs::write(&path, text).expect("write the program");
    let out = Command::new(env!("CARGO_BIN_EXE_toy"))
        .args(["--keep-going", "--engine=interp"])
        .arg(&path)
        .env("NO_COLOR", "1")
        .output()
        .expect("run toy");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut found = Vec::new();
    let mut lines = stderr.lines();
    while let Some(line) = lines.next() {
        if let Some(message) = line.strip_prefix("Error: ") {
            let place = lines.next().unwrap_or_default();
            let at = place.rsplit(':').take(2).collect::<Vec<_>>();
            let col = at[0].trim_end_matches(" ]");
            found.push((message.to_string(), format!("{}:{col}", at[1])));
        }
    }
    found
}

/// Decodes semantic tokens: (line, character, length, type, modifiers) each.
fn decode(data: &Value) -> Vec<[u64; 5]> {
    let numbers: Vec<u64> = data
        .as_array()
        .expect("data")
        .iter()
        .map(|n| n.as_u64().expect("a number"))
        .collect();
    let (mut line, mut character) = (0, 0);
    numbers
        .chunks(5)
        .map(|t| {
            if t[0] > 0 {
                character = 0;
            }
            line += t[0];
            character += t[1];
            [line, character, t[2], t[3], t[4]]
        })
        .collect()
}

/// Applies LSP text edits (all in `URI`) to `text`.
fn apply(text: &str, edit: &Value) -> String {
    let mut edits: Vec<(usize, usize, String)> = edit["changes"][URI]
        .as_array()
        .expect("edits for the document")
        .iter()
        .map(|e| {
            let offset = |p: &Value| {
                let line = p["line"].as_u64().expect("line") as usize;
                let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
                let units = p["character"].as_u64().expect("character") as usize;
                let mut seen = 0;
                let column = text[start..]
                    .char_indices()
                    .find(|(_, c)| {
                        seen += c.len_utf16();
                        seen > units
                    })
                    .map_or(0, |(i, _)| i);
                start + column
            };
            let new = e["newText"].as_str().expect("new text").to_string();
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                new,
            )
        })
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut text = text.to_string();
    for (start, end, new) in edits {
        text.replace_range(start..end, &new);
    }
    text
}

#[test]
fn an_editor_session_gets_real_answers_to_every_request() {
    let mut lsp = Client::start();
    let capabilities = lsp.initialize();
    for provider in [
        "hoverProvider",
        "definitionProvider",
        "referencesProvider",
        "completionProvider",
        "documentSymbolProvider",
        "semanticTokensProvider",
        "renameProvider",
    ] {
        assert!(
            capabilities.get(provider).is_some(),
            "{provider}: {capabilities}"
        );
    }
    let legend = capabilities["semanticTokensProvider"]["legend"]["tokenTypes"].clone();
    let kind = |name: &str| {
        legend
            .as_array()
            .expect("types")
            .iter()
            .position(|t| t == name)
            .expect("in the legend") as u64
    };

    // Diagnostics: the CLI's messages, at UTF-16 positions.
    let diagnostics = lsp.open(URI, PROGRAM);
    let messages: Vec<&str> = diagnostics
        .iter()
        .map(|d| d["message"].as_str().expect("message"))
        .collect();
    let cli = cli_diagnostics(PROGRAM);
    assert_eq!(
        messages,
        cli.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>()
    );
    assert_eq!(
        messages,
        ["unexpected character `😀`", "unknown variable `nope`"]
    );
    // 😀 is two UTF-16 units; `nope` is the 4th character of line 12 (the CLI's
    // column) but starts at UTF-16 unit 4.
    assert_eq!(span(&diagnostics[0]["range"]), [[11, 0], [11, 2]]);
    assert_eq!(cli[1].1, "12:4");
    assert_eq!(span(&diagnostics[1]["range"]), [[11, 4], [11, 8]]);
    assert_eq!(
        diagnostics[1]["relatedInformation"][0]["message"],
        "not in scope"
    );

    // An incremental change that removes the bad line clears them.
    let fixed = PROGRAM.replace("😀; nope;\n", "");
    lsp.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": URI, "version": 2 },
            "contentChanges": [{ "range": { "start": { "line": 11, "character": 0 }, "end": { "line": 12, "character": 0 } }, "text": "" }],
        }),
    );
    assert_eq!(lsp.diagnostics(URI), Vec::<Value>::new());
    // The rest of the session works on the fixed text: its lines 0-10 are PROGRAM's.
    let text = fixed.as_str();

    // Hover: a user operator's precedence and definition; a built-in's; a signature.
    let hover = |lsp: &mut Client, needle: &str, nth: usize| {
        lsp.result("textDocument/hover", pos(needle, nth))["contents"]["value"]
            .as_str()
            .expect("markdown")
            .to_string()
    };
    let expected: [(&str, &[&str]); 5] = [
        (
            "| !0",
            &["def binary| 5 (a b)", "precedence 5 here", "line 2"],
        ),
        ("!0", &["def unary!(v)", "unary operator"]),
        ("+ fib", &["built-in binary operator `+`, precedence 20"]),
        ("fib(10)", &["def fib(x)", "line 4"]),
        ("printd(fib", &["extern printd(x)"]),
    ];
    for (needle, parts) in expected {
        let text = hover(&mut lsp, needle, 0);
        for part in parts {
            assert!(text.contains(part), "hover at `{needle}`: {text}");
        }
    }
    let param = hover(&mut lsp, "n in", 0);
    assert_eq!(param, "parameter `n` of `count`");

    // Go to definition: a call, a local, an operator.
    let definition = |lsp: &mut Client, needle: &str, nth: usize| {
        let found = lsp.result("textDocument/definition", pos(needle, nth));
        assert_eq!(found["uri"], URI);
        span(&found["range"])
    };
    assert_eq!(definition(&mut lsp, "fib(10)", 0), [[3, 4], [3, 7]]);
    assert_eq!(definition(&mut lsp, "total;", 0), [[7, 6], [7, 11]]);
    assert_eq!(definition(&mut lsp, "| !0", 0), [[1, 10], [1, 11]]);
    assert_eq!(
        lsp.result("textDocument/definition", pos("0;", 0)),
        Value::Null
    );

    // References, with and without the definition.
    let references = |lsp: &mut Client, needle: &str, declaration: bool| {
        let mut params = pos(needle, 0);
        params["context"] = json!({ "includeDeclaration": declaration });
        let found = lsp.result("textDocument/references", params);
        found
            .as_array()
            .expect("locations")
            .iter()
            .map(|l| span(&l["range"]))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        references(&mut lsp, "fib(x-1)", true),
        [
            [[3, 4], [3, 7]],
            [[4, 23], [4, 26]],
            [[4, 34], [4, 37]],
            [[9, 7], [9, 10]]
        ]
    );
    assert_eq!(references(&mut lsp, "fib(x-1)", false).len(), 3);
    assert_eq!(
        references(&mut lsp, "i <", true),
        [[[8, 9], [8, 10]], [[8, 16], [8, 17]], [[8, 41], [8, 42]]]
    );
    assert_eq!(
        references(&mut lsp, "| total", true).len(),
        3,
        "the definition and two uses of `|`"
    );

    // Completion: keywords, functions, and the locals in scope there only.
    let labels = |lsp: &mut Client, params: Value| {
        let items = lsp.result("textDocument/completion", params);
        items
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["label"].as_str().expect("label").to_string())
            .collect::<Vec<_>>()
    };
    let inside = labels(&mut lsp, pos("i)", 0));
    for expected in [
        "total", "i", "n", "fib", "count", "printd", "def", "if", "var",
    ] {
        assert!(
            inside.contains(&expected.to_string()),
            "{expected} in {inside:?}"
        );
    }
    for absent in ["x", "v", "a", "b"] {
        assert!(
            !inside.contains(&absent.to_string()),
            "{absent} in {inside:?}"
        );
    }
    let externs = labels(&mut lsp, pos("printd(x)", 0));
    assert!(
        externs.contains(&"sin".to_string()) && !externs.contains(&"def".to_string()),
        "{externs:?}"
    );

    // Document symbols: every definition, operators as operators.
    let symbols = lsp.result(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": URI } }),
    );
    let outline: Vec<(String, u64)> = symbols
        .as_array()
        .expect("symbols")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_string(),
                s["kind"].as_u64().expect("kind"),
            )
        })
        .collect();
    let (operator, function) = (25, 12);
    assert_eq!(
        outline,
        [
            ("binary|", operator),
            ("unary!", operator),
            ("fib", function),
            ("printd", function),
            ("count", function)
        ]
        .map(|(n, k)| (n.to_string(), k))
    );
    assert_eq!(symbols[2]["detail"], "def fib(x)");
    assert_eq!(symbols[2]["children"][0]["name"], "x");

    // Semantic tokens: user-defined operators are operators, names by what they are.
    let tokens = decode(
        &lsp.result(
            "textDocument/semanticTokens/full",
            json!({ "textDocument": { "uri": URI } }),
        )["data"],
    );
    let token = |needle: &str, nth: usize| {
        let (line, character) = position_of(text, needle, nth);
        *tokens
            .iter()
            .find(|t| t[0] == u64::from(line) && t[1] == u64::from(character))
            .unwrap_or_else(|| panic!("a token at `{needle}`"))
    };
    let comment_len = PROGRAM
        .lines()
        .next()
        .expect("a line")
        .encode_utf16()
        .count() as u64;
    assert_eq!(token("#", 0), [0, 0, comment_len, kind("comment"), 0]);
    assert_eq!(token("| !0", 0)[3], kind("operator"));
    assert_eq!(token("!0", 0)[3], kind("operator"));
    assert_eq!(token("| 5", 0)[3..], [kind("operator"), 1], "a definition");
    assert_eq!(token("fib(10)", 0)[3], kind("function"));
    assert_eq!(token("fib(x)", 0)[3..], [kind("function"), 1]);
    assert_eq!(token("n in", 0)[3], kind("parameter"));
    assert_eq!(token("total;", 0)[3], kind("variable"));
    assert_eq!(token("def", 0)[3], kind("keyword"));
    assert_eq!(token("10", 0)[3], kind("number"));

    // Rename: a function, an operator, a local — and the renames that make no sense.
    let rename = |lsp: &mut Client, needle: &str, new: &str| {
        let mut params = pos(needle, 0);
        params["newName"] = json!(new);
        lsp.request("textDocument/rename", params)
    };
    let renamed = rename(&mut lsp, "fib(10)", "fibonacci");
    assert_eq!(
        apply(text, &renamed["result"]),
        text.replace("fib", "fibonacci")
    );
    let renamed = rename(&mut lsp, "| !0", "&");
    assert_eq!(apply(text, &renamed["result"]), text.replace('|', "&"));
    let renamed = rename(&mut lsp, "total;", "sum");
    assert_eq!(
        apply(text, &renamed["result"]),
        text.replace("total", "sum")
    );
    let refused = |lsp: &mut Client, needle: &str, new: &str, why: &str| {
        let response = rename(lsp, needle, new);
        assert_eq!(response["error"]["code"], -32803, "{response}");
        let message = response["error"]["message"].as_str().expect("a message");
        assert!(message.contains(why), "{needle} → {new}: {message}");
    };
    for (needle, new, why) in [
        ("i <", "total", "would change what the program means"),
        ("fib(10)", "count", "already defined"),
        ("fib(10)", "then", "not a valid name"),
        ("fib(10)", "2x", "not a valid name"),
        ("| !0", "+", "built-in binary operators cannot be redefined"),
        ("| !0", "or", "one punctuation character"),
        ("+ fib", "$", "built-in operator"),
        ("printd(fib", "show", "runtime or the C math library"),
        ("def fib", "x", "no function, operator or variable here"),
    ] {
        refused(&mut lsp, needle, new, why);
    }
    let prepared = lsp.result("textDocument/prepareRename", pos("fib(10)", 0));
    assert_eq!(prepared["placeholder"], "fib");
    assert_eq!(span(&prepared["range"]), [[9, 7], [9, 10]]);
    let (code, _) = lsp.error("textDocument/prepareRename", pos("10", 0));
    assert_eq!(code, -32803);

    // Closing clears the diagnostics; shutdown then exit ends with status 0.
    lsp.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": URI } }),
    );
    assert_eq!(lsp.diagnostics(URI), Vec::<Value>::new());
    assert_eq!(lsp.result("shutdown", Value::Null), Value::Null);
    lsp.notify("exit", Value::Null);
    assert_eq!(lsp.wait().code(), Some(0));
}

#[test]
fn hostile_clients_get_errors_and_the_server_goes_on() {
    let mut lsp = Client::start();
    // Before `initialize`: refused, by LSP's code.
    assert_eq!(lsp.error("textDocument/hover", pos("fib", 0)).0, -32002);
    lsp.initialize();
    assert_eq!(
        lsp.error("initialize", json!({ "capabilities": {} })).0,
        -32600
    );

    // Broken frames: a parse error with no id, then the next message is read.
    for frame in [
        &b"Content-Length: 3\r\n\r\n{{{"[..],
        b"Content-Length: 2\r\n\r\n[]",
        b"Content-Length: nine\r\n\r\n",
        b"no header at all\r\n\r\n",
    ] {
        lsp.send_raw(frame);
        let error = lsp.wait_for(|m| m["id"].is_null() && m.get("error").is_some());
        assert_eq!(error["error"]["code"], -32700, "{error}");
    }

    // Unknown methods, bad parameters, documents never opened.
    let (code, message) = lsp.error("textDocument/frobnicate", json!({}));
    assert_eq!(
        (code, message.as_str()),
        (-32601, "unknown method `textDocument/frobnicate`")
    );
    assert_eq!(
        lsp.error("textDocument/hover", json!({ "position": 3 })).0,
        -32602
    );
    assert_eq!(lsp.error("textDocument/rename", json!(null)).0, -32602);
    let (code, message) = lsp.error("textDocument/hover", pos("fib", 0));
    assert_eq!(code, -32602);
    assert!(message.contains("not open"), "{message}");
    // Notifications cannot be answered: the server says so in its log.
    lsp.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": "file:///nowhere.ks", "version": 2 }, "contentChanges": [] }),
    );
    let log = lsp.notification("window/logMessage");
    assert!(
        log["message"]
            .as_str()
            .expect("a message")
            .contains("not open"),
        "{log}"
    );
    lsp.notify("textDocument/didOpen", json!({ "textDocument": 7 }));
    assert!(
        lsp.notification("window/logMessage")["message"]
            .as_str()
            .expect("a message")
            .contains("invalid parameters")
    );
    lsp.notify("$/unknownNotification", json!([1, 2]));

    // Any text at all, and positions anywhere: diagnostics and answers, no crash.
    let deep = format!("{}1{};", "(".repeat(20_000), ")".repeat(20_000));
    let chain = format!("def f(x) x{};", " + x".repeat(30_000));
    let texts = [
        String::new(),
        "\u{0}\u{FEFF}\u{FFFF}é\r\r\n\x0B\x0C#".to_string(),
        deep,
        chain,
        "-".repeat(50_000),
        "def binary| 500 (a b) a; def unary! 3 (x) x; def binary+ (a b) a; extern nope(x); def f(x x) x;".into(),
        "def f(x) 1 | 2; def binary|(a b) a; for i = 0, i in i; var = in; def def".into(),
        "😀".repeat(1000),
    ];
    for (i, text) in texts.iter().enumerate() {
        let uri = format!("file:///hostile/{i}.ks");
        let diagnostics = lsp.open(&uri, text);
        if i >= 2 {
            assert!(!diagnostics.is_empty(), "text {i} has errors");
        }
        let id = json!({ "uri": uri });
        for (line, character) in [
            (0, 0),
            (0, 1),
            (0, 3),
            (0, 20_001),
            (1, 0),
            (1_000_000, 4_000_000_000u32),
        ] {
            let params = at(&uri, line, character);
            for method in [
                "textDocument/hover",
                "textDocument/definition",
                "textDocument/completion",
            ] {
                lsp.result(method, params.clone());
            }
            let mut references = params.clone();
            references["context"] = json!({ "includeDeclaration": true });
            lsp.result("textDocument/references", references);
            let mut rename = params.clone();
            rename["newName"] = json!("y");
            let response = lsp.request("textDocument/rename", rename);
            assert!(
                response.get("result").is_some() || response["error"]["code"] == -32803,
                "{response}"
            );
        }
        lsp.result("textDocument/documentSymbol", json!({ "textDocument": id }));
        lsp.result(
            "textDocument/semanticTokens/full",
            json!({ "textDocument": id }),
        );
        // An edit whose range lies past the end is clamped, as LSP says.
        lsp.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": 2 },
                "contentChanges": [{ "range": { "start": { "line": 99, "character": 0 }, "end": { "line": 0, "character": 0 } }, "text": "x;" }],
            }),
        );
        lsp.diagnostics(&uri);
    }

    // After `shutdown`, requests are refused; `exit` then ends with status 0.
    assert_eq!(lsp.result("shutdown", Value::Null), Value::Null);
    assert_eq!(lsp.error("textDocument/hover", pos("fib", 0)).0, -32600);
    lsp.notify("exit", Value::Null);
    assert_eq!(lsp.wait().code(), Some(0));
}

#[test]
fn exit_without_shutdown_or_a_cut_stream_ends_with_status_1() {
    let mut lsp = Client::start();
    lsp.initialize();
    lsp.notify("exit", Value::Null);
    assert_eq!(lsp.wait().code(), Some(1));

    // A frame that announces more than the server reads is skipped, not allocated;
    // the input then ends.
    let mut lsp = Client::start();
    lsp.initialize();
    lsp.send_raw(b"Content-Length: 99999999999999\r\n\r\n{}");
    assert_eq!(lsp.wait().code(), Some(1));
}

#[test]
fn every_example_is_clean_and_every_name_in_it_answers() {
    let mut lsp = Client::start();
    lsp.initialize();
    let mut examples: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
        .expect("examples/")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "ks"))
        .collect();
    examples.sort();
    assert!(examples.len() >= 5, "{examples:?}");
    for path in examples {
        let text = std::fs::read_to_string(&path).expect("read an example");
        let uri = format!("file://{}", path.display());
        assert_eq!(
            lsp.open(&uri, &text),
            Vec::<Value>::new(),
            "{}",
            path.display()
        );
        let tokens = decode(
            &lsp.result(
                "textDocument/semanticTokens/full",
                json!({ "textDocument": { "uri": uri } }),
            )["data"],
        );
        let function = 3;
        for token in tokens.iter().filter(|t| t[3] == function) {
            let params = at(&uri, token[0] as u32, token[1] as u32);
            let hover = lsp.result("textDocument/hover", params.clone());
            assert!(
                hover["contents"]["value"].is_string(),
                "{}: {token:?} {hover}",
                path.display()
            );
            let definition = lsp.result("textDocument/definition", params);
            assert_eq!(definition["uri"], uri, "{}: {token:?}", path.display());
        }
    }
    assert_eq!(lsp.result("shutdown", Value::Null), Value::Null);
}

#[test]
fn mutated_programs_never_break_the_server() {
    // A fixed-seed generator: every example, mangled by random deletions and
    // insertions of Kaleidoscope's characters, with a request of each kind at a
    // random position.
    let mut seed: u64 = 0x5eed_1234_abcd_9876;
    let mut next = move |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n.max(1)
    };
    let alphabet: Vec<char> =
        "def extern binary unary if then else for in var ()|&!,;=<+-*:^%#\n😀é x y 1.5"
            .chars()
            .collect();
    let sources: Vec<String> = ["fib", "operators", "vars", "redefine"]
        .iter()
        .map(|name| {
            std::fs::read_to_string(format!("{}/examples/{name}.ks", env!("CARGO_MANIFEST_DIR")))
                .expect("an example")
        })
        .collect();
    let mut lsp = Client::start();
    lsp.initialize();
    let uri = "file:///mutated.ks";
    lsp.open(uri, "");
    for round in 0..60 {
        let mut text: Vec<char> = sources[round % sources.len()].chars().collect();
        for _ in 0..1 + next(8) {
            let at = next(text.len() + 1);
            if next(2) == 0 && at < text.len() {
                text.remove(at);
            } else {
                text.insert(at, alphabet[next(alphabet.len())]);
            }
        }
        let text: String = text.into_iter().collect();
        lsp.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": round + 2 }, "contentChanges": [{ "text": text }] }),
        );
        lsp.diagnostics(uri);
        let lines = text.split('\n').count();
        let params = at(uri, next(lines + 1) as u32, next(40) as u32);
        for method in [
            "textDocument/hover",
            "textDocument/definition",
            "textDocument/completion",
            "textDocument/prepareRename",
        ] {
            let response = lsp.request(method, params.clone());
            assert!(
                response.get("result").is_some() || response["error"]["code"] == -32803,
                "{method}: {response}\n{text}"
            );
        }
        lsp.result(
            "textDocument/semanticTokens/full",
            json!({ "textDocument": { "uri": uri } }),
        );
        lsp.result(
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": uri } }),
        );
    }
    assert_eq!(lsp.result("shutdown", Value::Null), Value::Null);
}

#[test]
fn an_operator_has_the_precedence_of_the_definition_before_each_use() {
    let text = "def binary% 5 (a b) a - b;\n1 % 2 * 3;\ndef binary% 70 (a b) a - b;\n1 % 2 * 3;\ndef binary+ 9 (a b) a;\n";
    let uri = "file:///redefined.ks";
    let mut lsp = Client::start();
    lsp.initialize();
    let diagnostics = lsp.open(uri, text);
    let messages: Vec<&str> = diagnostics
        .iter()
        .map(|d| d["message"].as_str().expect("message"))
        .collect();
    assert_eq!(messages, ["cannot redefine built-in operator `+`"]);
    let hover = |lsp: &mut Client, line: u32, character: u32| {
        lsp.result("textDocument/hover", at(uri, line, character))["contents"]["value"]
            .as_str()
            .expect("markdown")
            .to_string()
    };
    let first = hover(&mut lsp, 1, 2);
    assert!(
        first.contains("precedence 5 here")
            && first.contains("def binary% 5 (a b)")
            && first.contains("line 1"),
        "{first}"
    );
    let second = hover(&mut lsp, 3, 2);
    assert!(
        second.contains("precedence 70 here")
            && second.contains("def binary% 70 (a b)")
            && second.contains("line 3"),
        "{second}"
    );
    let definition = lsp.result("textDocument/definition", at(uri, 3, 2));
    assert_eq!(span(&definition["range"]), [[2, 10], [2, 11]]);
    // The rejected `def binary+` defines nothing: its `+` is the built-in one.
    let (code, message) = lsp.error("textDocument/prepareRename", at(uri, 4, 10));
    assert_eq!(code, -32803);
    assert!(message.contains("built-in operator"), "{message}");
    assert_eq!(lsp.result("shutdown", Value::Null), Value::Null);
}
