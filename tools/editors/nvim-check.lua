-- Driven by tools/editors/nvim-check.sh inside `nvim --headless` on a .ks file with an
-- error, after the README's init.lua: prints what a user would see, and exits with 1
-- when something the recipe promises is missing.
local function out(s) io.stdout:write(s .. "\n") end
local failed = {}
local function check(ok, what) if not ok then table.insert(failed, what) end end
local buf = vim.api.nvim_get_current_buf()
out("nvim " .. tostring(vim.version()) .. ", filetype " .. vim.bo[buf].filetype)

check(vim.wait(10000, function() return #vim.diagnostic.get(buf) > 0 end, 50), "diagnostics")
for _, d in ipairs(vim.diagnostic.get(buf)) do
  out(string.format("diagnostic %d:%d %s", d.lnum + 1, d.col + 1, d.message))
end

local function hover(line, col)
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(buf),
    position = { line = line, character = col },
  }
  for _, r in pairs(vim.lsp.buf_request_sync(buf, "textDocument/hover", params, 5000) or {}) do
    if r.result then return r.result.contents.value end
  end
  return ""
end
local on_f, on_op = hover(2, 0), hover(1, 11)
out("hover on f: " .. on_f:gsub("\n", " | "))
out("hover on |: " .. on_op:gsub("\n", " | "))
check(on_f:find("def f(x)", 1, true), "hover of a function")
check(on_op:find("precedence 5", 1, true), "hover of an operator")

vim.api.nvim_win_set_cursor(0, { 3, 0 })
vim.lsp.buf.definition()
vim.wait(5000, function() return vim.api.nvim_win_get_cursor(0)[1] ~= 3 end, 50)
local cursor = vim.api.nvim_win_get_cursor(0)
out(string.format("go to definition of f: line %d, column %d", cursor[1], cursor[2] + 1))
check(cursor[1] == 2, "go to definition")

-- Highlighting: the tree-sitter grammar's captures (0.9+), and the server's semantic
-- tokens, which need a redraw to be applied.
if vim.treesitter.get_captures_at_pos then
  vim.treesitter.get_parser(buf):parse()
  local caps = {}
  for _, c in ipairs(vim.treesitter.get_captures_at_pos(buf, 1, 11)) do table.insert(caps, c.capture) end
  out("tree-sitter captures of the use of |: " .. table.concat(caps, ","))
  check(vim.tbl_contains(caps, "operator"), "tree-sitter highlighting")
else
  local active = vim.treesitter.highlighter.active[buf] ~= nil
  out("tree-sitter highlighter active: " .. tostring(active))
  check(active, "tree-sitter highlighting")
end
if vim.lsp.semantic_tokens then
  local tokens = {}
  vim.wait(5000, function()
    vim.cmd("redraw")
    tokens = vim.lsp.semantic_tokens.get_at_pos(buf, 1, 11) or {}
    return #tokens > 0
  end, 50)
  out("semantic token of the use of |: " .. (tokens[1] and tokens[1].type or "none"))
  check(tokens[1] and tokens[1].type == "operator", "semantic tokens")
end

-- :ToyFmt on the buffer once the error is fixed.
vim.api.nvim_buf_set_lines(buf, 1, 2, true, { "def f(x)   x|x;" })
vim.cmd("ToyFmt")
local formatted = vim.api.nvim_buf_get_lines(buf, 1, 2, true)[1]
out(":ToyFmt made line 2: " .. formatted)
check(formatted == "def f(x) x | x;", ":ToyFmt")

if #failed > 0 then
  out("FAILED: " .. table.concat(failed, ", "))
  vim.cmd("cquit 1")
end
out("all as the README says")
vim.cmd("qa!")
