// ANCHOR: head
//! DWARF debug information for `-g`: where the program's text comes from, and the
//! debug-info builder of one module, with which the IR generator records a compile
//! unit, a subprogram per function, the source position of each instruction, and the
//! variables living in its stack slots.

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;

use inkwell::builder::Builder;
use inkwell::context::ContextRef;
use inkwell::debug_info::{
    AsDIScope, DIBasicType, DICompileUnit, DIFile, DIFlags, DIFlagsConstants, DIScope,
    DWARFEmissionKind, DWARFSourceLanguage, DebugInfoBuilder,
};
use inkwell::module::{FlagBehavior, Module};
use inkwell::values::{FunctionValue, PointerValue};

use crate::ast::Expr;
// ANCHOR_END: head

// ANCHOR: source
/// The program's text as the debug information names it: a file in a directory, and
/// where each of its lines starts, to turn byte offsets into lines and columns.
pub struct Source {
    /// The file's name, without its directory: what a debugger prints.
    file: String,
    /// The directory the file is in, absolute, so that a debugger finds the file
    /// (to `list` it) wherever it runs.
    directory: String,
    /// The text.
    text: String,
    /// The byte offset of each line's first character; line 1 starts at 0.
    line_starts: Vec<usize>,
}

impl Source {
    /// The source `text` read from `path` (standard input when `None`).
    pub fn new(path: Option<&str>, text: &str) -> Source {
        let (file, directory) = match path {
            Some(path) => {
                let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.into());
                let file = path.file_name().unwrap_or(path.as_os_str());
                let directory = path.parent().filter(|dir| dir != &Path::new(""));
                let directory = directory.unwrap_or(Path::new("."));
                let file = file.to_string_lossy().into_owned();
                (file, directory.to_string_lossy().into_owned())
            }
            None => ("<stdin>".to_string(), ".".to_string()),
        };
        let newlines = text.match_indices('\n').map(|(i, _)| i + 1);
        Source {
            file,
            directory,
            text: text.to_string(),
            line_starts: std::iter::once(0).chain(newlines).collect(),
        }
    }

    /// The 1-based line and column (in characters) of byte `offset`, as
    /// `source::line_col` computes them, but by a binary search over the line
    /// starts instead of a scan of the text before `offset`.
    pub fn position(&self, offset: usize) -> (u32, u32) {
        // The number of lines that start at or before `offset`: `offset`'s line.
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        (line as u32, column as u32)
    }
}
// ANCHOR_END: source

// ANCHOR: start
/// Where `expr` starts, as far as the syntax tree knows: the first name, call or
/// assignment in it, in the order it was written. A constant knows nothing.
pub fn start(expr: &Expr) -> Option<usize> {
    match expr {
        Expr::Number(_) => None,
        Expr::Variable(_, span) | Expr::Call(_, _, span) | Expr::Assign(_, span, _) => {
            Some(span.start)
        }
        Expr::Binary(_, lhs, rhs) => start(lhs).or_else(|| start(rhs)),
        Expr::If(cond, yes, no) => start(cond).or_else(|| start(yes)).or_else(|| start(no)),
        Expr::For(l) => [&l.start, &l.end, &l.body].into_iter().find_map(start),
        Expr::Var(bindings, body) => {
            let inits = bindings.iter().filter_map(|(_, init)| init.as_ref());
            inits.chain([body.as_ref()]).find_map(start)
        }
    }
}
// ANCHOR_END: start

// ANCHOR: debug
/// The debug information of one module: its compile unit, and the function being
/// generated in it, the scope of the locations and variables recorded now.
pub struct Debug<'ctx> {
    /// The context of the module, which owns the metadata.
    context: ContextRef<'ctx>,
    /// Makes the metadata; owned by one module, into which it inserts calls of
    /// `llvm.dbg.declare`.
    builder: DebugInfoBuilder<'ctx>,
    /// The compile unit: one source file, compiled by one producer.
    unit: DICompileUnit<'ctx>,
    /// The file the functions are in.
    file: DIFile<'ctx>,
    /// Kaleidoscope's only type, as DWARF describes C's `double`.
    double: DIBasicType<'ctx>,
    /// The subprogram of the function being generated, and its line.
    scope: Cell<Option<(DIScope<'ctx>, u32)>>,
    /// The program's text, for the lines and columns of byte offsets.
    source: Rc<Source>,
}
// ANCHOR_END: debug

// ANCHOR: new
/// `DW_ATE_float`: a basic type that is a binary floating-point number.
const DW_ATE_FLOAT: u32 = 0x04;
/// `DW_ATE_signed`: a basic type that is a signed integer.
const DW_ATE_SIGNED: u32 = 0x05;

impl<'ctx> Debug<'ctx> {
    /// A compile unit for `source` in `module`.
    pub fn new(module: &Module<'ctx>, source: Rc<Source>) -> Self {
        // DWARF has no language code for Kaleidoscope; like LLVM's tutorial we say C,
        // which debuggers handle well for functions of doubles.
        let (builder, unit) = module.create_debug_info_builder(
            true,
            DWARFSourceLanguage::C,
            &source.file,
            &source.directory,
            "toy (Kaleidoscope)",
            false,
            "",
            0,
            "",
            DWARFEmissionKind::Full,
            0,
            false,
            false,
            "",
            "",
        );
        let file = unit.get_file();
        let double = builder
            .create_basic_type("double", 64, DW_ATE_FLOAT, DIFlags::ZERO)
            .expect("a named type of 64 bits");
        Debug {
            context: module.get_context(),
            builder,
            unit,
            file,
            double,
            scope: Cell::new(None),
            source,
        }
    }
    // ANCHOR_END: new

    // ANCHOR: function
    /// Describes `function`, named `name` (its symbol may be another) and defined on
    /// the line of byte `offset`, as a subprogram taking and returning doubles, and makes it the scope of
    /// what is recorded from now on. `main` returns a C `int`.
    pub fn function(&self, function: FunctionValue<'ctx>, name: &str, offset: usize) {
        let (line, _) = self.source.position(offset);
        let double = self.double.as_type();
        let params = vec![double; function.count_params() as usize];
        let result = match name {
            "main" => self
                .builder
                .create_basic_type("int", 32, DW_ATE_SIGNED, DIFlags::ZERO),
            _ => Ok(self.double),
        };
        let result = result.expect("a named type of 32 bits").as_type();
        let ty =
            self.builder
                .create_subroutine_type(self.file, Some(result), &params, DIFlags::ZERO);
        let subprogram = self.builder.create_function(
            self.unit.as_debug_info_scope(),
            name,
            None,
            self.file,
            line,
            ty,
            false,
            true,
            line,
            DIFlags::PROTOTYPED,
            false,
        );
        function.set_subprogram(subprogram);
        self.scope
            .set(Some((subprogram.as_debug_info_scope(), line)));
    }
    // ANCHOR_END: function

    // ANCHOR: locate
    /// Gives the instructions `builder` appends from now on the source position of
    /// byte `offset`, in the current function.
    pub fn locate(&self, builder: &Builder<'ctx>, offset: usize) {
        let (line, column) = self.source.position(offset);
        let (scope, _) = self.scope.get().expect("locations are inside a function");
        let location = self
            .builder
            .create_debug_location(self.context, line, column, scope, None);
        builder.set_current_debug_location(location);
    }
    // ANCHOR_END: locate

    // ANCHOR: variable
    /// Describes the variable `name` living in `slot`: parameter number `arg` (from
    /// 1), or a local variable when `arg` is `None`. It is declared where `builder`
    /// is: at its current location (the function's line if it has none yet), by an
    /// `llvm.dbg.declare` call at the end of its block.
    pub fn variable(
        &self,
        builder: &Builder<'ctx>,
        name: &str,
        arg: Option<u32>,
        slot: PointerValue<'ctx>,
    ) {
        let (scope, line) = self.scope.get().expect("variables are inside a function");
        let line = builder
            .get_current_debug_location()
            .map_or(line, |at| at.get_line());
        let (file, ty, flags) = (self.file, self.double.as_type(), DIFlags::ZERO);
        let b = &self.builder;
        let variable = match arg {
            Some(arg) => b.create_parameter_variable(scope, name, arg, file, line, ty, true, flags),
            None => b.create_auto_variable(scope, name, file, line, ty, true, flags, 0),
        };
        let location = b.create_debug_location(self.context, line, 0, scope, None);
        let block = builder
            .get_insert_block()
            .expect("the builder is positioned");
        b.insert_declare_at_end(slot, Some(variable), None, location, block);
    }
    // ANCHOR_END: variable

    // ANCHOR: finalize
    /// Completes the metadata that waits for the end of the module (the list of
    /// each subprogram's variables): before the module is verified or compiled.
    /// The builder goes away with `self`.
    pub fn finalize(self) {
        self.builder.finalize();
    }
}
// ANCHOR_END: finalize

// ANCHOR: flags
/// Marks `module` as carrying debug information of the metadata format this LLVM
/// writes ("Debug Info Version", which LLVM checks) and asks for DWARF 4.
pub fn add_flags(module: &Module<'_>) {
    let i32_type = module.get_context().i32_type();
    if module.get_flag("Debug Info Version").is_none() {
        let version =
            i32_type.const_int(inkwell::debug_info::debug_metadata_version().into(), false);
        module.add_basic_value_flag("Debug Info Version", FlagBehavior::Warning, version);
    }
    if module.get_flag("Dwarf Version").is_none() {
        let version = i32_type.const_int(4, false);
        module.add_basic_value_flag("Dwarf Version", FlagBehavior::Warning, version);
    }
}
// ANCHOR_END: flags

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::process::Command;

    use inkwell::context::Context;
    use inkwell::memory_buffer::MemoryBuffer;

    use super::*;
    use crate::aot::Program;
    use crate::lexer::lex;
    use crate::parser::parse;

    #[test]
    fn positions_are_lines_and_columns_as_the_error_messages_count_them() {
        let text = "ab\ncé d\n\nx";
        let source = Source::new(None, text);
        for offset in 0..=text.len() {
            if text.is_char_boundary(offset) {
                let (line, col) = crate::source::line_col(text, offset);
                let expected = (line as u32, col as u32);
                assert_eq!(source.position(offset), expected, "{offset}");
            }
        }
    }

    #[test]
    fn an_expression_starts_at_its_first_name() {
        let text = "1 + (2 * x); if 1 then 2 else f(3); 4 * 5; var a = 1, b = y in a";
        let starts: Vec<Option<usize>> = parse(text, &lex(text))
            .into_iter()
            .map(|item| match item.unwrap() {
                crate::ast::Item::Expr(expr) => start(&expr),
                _ => unreachable!("expressions only"),
            })
            .collect();
        assert_eq!(starts, [Some(9), Some(30), None, Some(58)]);
    }

    /// The module of `text`, with debug information about `path` or without.
    fn ir(text: &str, path: Option<&str>) -> String {
        let context = Context::create();
        let mut program = Program::new(&context, path.is_none()).unwrap();
        if path.is_some() {
            program.set_source(Rc::new(Source::new(path, text)));
        }
        for item in parse(text, &lex(text)) {
            program.item(&item.unwrap()).unwrap();
        }
        let object = program.object().unwrap();
        assert_eq!(&object[..4], b"\x7fELF");
        program.ir()
    }

    const FIB: &str = "extern printd(x);
def fib(x)
  if x < 3 then 1 else fib(x-1) + fib(x-2);
var n = 10 in printd(fib(n));
";

    #[test]
    fn without_g_there_is_no_debug_information() {
        let ir = ir(FIB, None);
        assert!(!ir.contains("!dbg") && !ir.contains("llvm.dbg"), "{ir}");
        assert!(!ir.contains("Debug Info Version"), "{ir}");
    }

    #[test]
    fn with_g_every_function_and_variable_is_described() {
        let ir = ir(FIB, Some("fib.ks"));
        for line in [
            "!llvm.dbg.cu = !{",
            "!{i32 2, !\"Debug Info Version\", i32 3}",
            "!{i32 2, !\"Dwarf Version\", i32 4}",
            "call void @llvm.dbg.declare(metadata double* %x1",
            "distinct !DISubprogram(name: \"fib\", linkageName: \"fib\", scope: null, file: !1, line: 2,",
            "distinct !DISubprogram(name: \"__anon_expr\",",
            "distinct !DISubprogram(name: \"main\",",
            "!DILocalVariable(name: \"x\", arg: 1, ",
            "!DILocalVariable(name: \"n\", scope: ",
            "!DIFile(filename: \"fib.ks\", directory: ",
            "!DILocation(line: 3, column: 6, ",
        ] {
            assert!(ir.contains(line), "{line} in {ir}");
        }
    }

    /// `ir` read back by LLVM's IR parser, and printed again.
    fn read_back(ir: &str) -> String {
        let context = Context::create();
        let buffer = MemoryBuffer::create_from_memory_range_copy(ir.as_bytes(), "fib.ll");
        let module = context
            .create_module_from_ir(buffer)
            .expect("LLVM's IR parses");
        module.print_to_string().to_string()
    }

    #[test]
    fn without_its_version_a_reader_drops_the_debug_information() {
        let ir = ir(FIB, Some("fib.ks"));
        assert!(read_back(&ir).contains("!dbg"));
        // The module flags' list goes; the flags themselves stay, unused.
        let flags = ir
            .lines()
            .find(|line| line.starts_with("!llvm.module.flags"));
        let without = ir.replace(flags.unwrap(), "");
        assert!(!read_back(&without).contains("!dbg"), "{without}");
    }

    /// A directory of this test's own, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Scratch {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let dir = format!("toy-ch11-gdb-{}-{n}", std::process::id());
            let dir = std::env::temp_dir().join(dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// What `gdb` prints when it runs the `-g` executable of `text` (in a file
    /// named `fib.ks`) with the `commands`, one line each, addresses left out.
    fn gdb(text: &str, optimize: bool, commands: &[&str]) -> String {
        let scratch = Scratch::new();
        let file = scratch.0.join("fib.ks");
        std::fs::write(&file, text).unwrap();
        let context = Context::create();
        let mut program = Program::new(&context, optimize).unwrap();
        let source = Source::new(file.to_str(), text);
        program.set_source(Rc::new(source));
        for item in parse(text, &lex(text)) {
            program.item(&item.unwrap()).unwrap();
        }
        let exe = scratch.0.join("fib");
        program.link(&exe, "cc".as_ref()).unwrap();
        let mut gdb = Command::new("gdb");
        gdb.args(["-batch", "-nx"]);
        for command in commands {
            gdb.args(["-ex", command]);
        }
        let out = gdb.arg(&exe).output().unwrap_or_else(|err| {
            panic!("cannot run gdb ({err}): these tests need GNU gdb on the PATH")
        });
        let out = String::from_utf8(out.stdout).unwrap();
        // `#1  0x000055555555520e in f (x=20)` is `#1  f (x=20)` here.
        let lines = out.lines().map(|line| match line.find(" 0x") {
            Some(at) => match line[at..].find(" in ") {
                Some(end) => format!("{}{}", &line[..at + 1], &line[at + end + 4..]),
                None => line.to_string(),
            },
            None => line.to_string(),
        });
        lines.collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn gdb_stops_in_fib_with_its_argument_and_the_whole_stack() {
        let out = gdb(FIB, false, &["break fib", "run", "bt", "continue", "bt 2"]);
        for line in [
            "Breakpoint 1, fib (x=10) at fib.ks:3",
            "#0  fib (x=10) at fib.ks:3",
            "#1  __anon_expr () at fib.ks:4",
            "#2  main () at fib.ks:4",
            "Breakpoint 1, fib (x=9) at fib.ks:3",
            "#1  fib (x=10) at fib.ks:3",
        ] {
            assert!(out.contains(line), "{line} in {out}");
        }
    }

    #[test]
    fn gdb_reads_variables_from_their_slots_and_optimization_loses_them() {
        let commands = ["break printd", "run", "continue", "up", "info locals"];
        let text = include_str!("../examples/locals.ks");
        let out = gdb(text, false, &commands);
        let expected = "#1  f (x=20) at fib.ks:8\n8\t  printd(x) :\ny = 40";
        assert!(out.contains(expected), "{out}");
        let out = gdb(text, true, &commands);
        assert!(out.contains("#1  f (x=20) at fib.ks:8"), "{out}");
        assert!(out.contains("y = <optimized out>"), "{out}");
    }
}
// ANCHOR_END: tests
