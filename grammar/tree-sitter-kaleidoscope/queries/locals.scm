; Scopes and definitions, so that editors can colour a parameter's uses as
; parameters and find a variable's definition.

(function_definition) @local.scope
(for_expression) @local.scope
(var_expression) @local.scope

(parameters
  (identifier) @local.definition)

(for_expression
  variable: (identifier) @local.definition)

(var_binding
  name: (identifier) @local.definition)

(identifier) @local.reference
