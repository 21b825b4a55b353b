; Syntax highlighting for Kaleidoscope. Capture names are those Neovim, Helix and
; the tree-sitter CLI share; a specific name falls back to its prefix
; (`function.call` to `function`). No node gets two captures, so the result does
; not depend on whether an editor lets the first or the last pattern win.

(comment) @comment

(number) @number

[
  "def"
  "extern"
] @keyword.function

[
  "if"
  "then"
  "else"
] @keyword.conditional

"for" @keyword.repeat

[
  "unary"
  "binary"
  "var"
  "in"
] @keyword

; Every operator, built-in (= < + - *) or user-defined, where it is used and in the
; prototype that defines it.
[
  (operator)
  "="
] @operator

[
  "("
  ")"
] @punctuation.bracket

[
  ","
  ";"
] @punctuation.delimiter

(prototype
  name: (identifier) @function)

(parameters
  (identifier) @variable.parameter)

; The runtime's own functions, then every other call.
(call_expression
  function: (identifier) @function.builtin
  (#any-of? @function.builtin "putchard" "printd"))

(call_expression
  function: (identifier) @function.call
  (#not-any-of? @function.call "putchard" "printd"))

; Variables: where they are bound and where they are used.
(function_definition
  body: (identifier) @variable)

(top_level_expression
  (identifier) @variable)

(binary_chain
  (identifier) @variable)

(unary_expression
  operand: (identifier) @variable)

(arguments
  (identifier) @variable)

(parenthesized_expression
  (identifier) @variable)

(if_expression
  (identifier) @variable)

(for_expression
  (identifier) @variable)

(var_binding
  (identifier) @variable)

(var_expression
  body: (identifier) @variable)
