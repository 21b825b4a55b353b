/**
 * @file Kaleidoscope, the language of LLVM's tutorial, as implemented by toy.
 * @license MIT OR Apache-2.0
 *
 * The authority is ../kaleidoscope.ebnf; this grammar follows it for editors.
 * Binary operators come as flat chains (`binary_chain`): their shape depends on
 * the precedences the program itself defines (`def binary| 5 ...`), which a
 * context-free grammar cannot know. toy's resolver shapes them.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

module.exports = grammar({
  name: 'kaleidoscope',

  // White space is C's isspace; a comment ends at LF or CR, as in the C++ lexer.
  extras: $ => [/[ \t\n\x0B\x0C\r]/, $.comment],

  word: $ => $.identifier,

  rules: {
    // `;` may separate items and is otherwise optional.
    source_file: $ => repeat(choice($._item, ';')),

    _item: $ => choice($.function_definition, $.extern_declaration, $.top_level_expression),

    function_definition: $ => seq(
      'def',
      field('prototype', $.prototype),
      field('body', $._expression),
    ),

    extern_declaration: $ => seq('extern', field('prototype', $.prototype)),

    top_level_expression: $ => $._expression,

    prototype: $ => seq(
      choice(
        field('name', $.identifier),
        seq('unary', field('operator', $.operator), optional(field('precedence', $.number))),
        seq('binary', field('operator', $.operator), optional(field('precedence', $.number))),
      ),
      field('parameters', $.parameters),
    ),

    // Separated by white space, not commas; arity is checked by toy, not here.
    parameters: $ => seq('(', repeat($.identifier), ')'),

    _expression: $ => choice($.binary_chain, $._operand),

    // `a op b op c ...`: the operands and operators in source order. An operator
    // after an operand always continues the chain (as in toy's parser), even where
    // it could start a new item as a prefix operator.
    binary_chain: $ => prec.right(1, seq($._operand, $._chain_tail)),

    _chain_tail: $ => prec.right(1, seq(
      field('operator', $.operator),
      $._operand,
      optional($._chain_tail),
    )),

    _operand: $ => choice($.unary_expression, $._primary),

    // A prefix operator applies to the operand that follows it only: `!a + b` is
    // `(!a) + b`.
    unary_expression: $ => seq(field('operator', $.operator), field('operand', $._operand)),

    _primary: $ => choice(
      $.number,
      $.identifier,
      $.call_expression,
      $.parenthesized_expression,
      $.if_expression,
      $.for_expression,
      $.var_expression,
    ),

    // After a name, `(` always starts a call (as in toy's parser).
    call_expression: $ => prec(1, seq(
      field('function', $.identifier),
      field('arguments', $.arguments),
    )),

    arguments: $ => seq('(', optional(seq($._expression, repeat(seq(',', $._expression)))), ')'),

    parenthesized_expression: $ => seq('(', $._expression, ')'),

    // The last part of `if`, `for` and `var` takes as much as it can: in
    // `if c then a else b + 1` the `+ 1` belongs to the `else` branch.
    if_expression: $ => prec.right(-1, seq(
      'if', field('condition', $._expression),
      'then', field('consequence', $._expression),
      'else', field('alternative', $._expression),
    )),

    for_expression: $ => prec.right(-1, seq(
      'for', field('variable', $.identifier), '=', field('start', $._expression),
      ',', field('end', $._expression),
      optional(seq(',', field('step', $._expression))),
      'in', field('body', $._expression),
    )),

    var_expression: $ => prec.right(-1, seq(
      'var', $.var_binding, repeat(seq(',', $.var_binding)),
      'in', field('body', $._expression),
    )),

    var_binding: $ => seq(
      field('name', $.identifier),
      optional(seq('=', field('value', $._expression))),
    ),

    identifier: _ => /[A-Za-z][A-Za-z0-9]*/,

    // As toy's lexer: a run of digits and dots is one token (`1.2.3` is one malformed
    // number, reported by toy, not `1.2` and `.3`).
    number: _ => /[0-9][0-9.]*|\.[0-9][0-9.]*/,

    // Any ASCII punctuation but ( ) , ; and #: a built-in or user-defined operator.
    operator: _ => /[!"$%&'*+\-./:<=>?@\[\\\]^_`{|}~]/,

    comment: _ => token(seq('#', /[^\n\r]*/)),
  },
});
