//! DWARF for `-g`: where the functions being compiled come from ([`DebugSource`]),
//! the debug-info builder of one module ([`Debug`]), and the two things the IR
//! generator records with it — the source location of the instructions it emits and
//! the variables (parameters, `for` and `var` bindings) living in its stack slots.

use inkwell::context::Context;
use inkwell::debug_info::{
    DIBasicType, DICompileUnit, DIFile, DIFlags, DIFlagsConstants, DWARFEmissionKind,
    DWARFSourceLanguage, DebugInfoBuilder,
};
use inkwell::module::Module;

use super::generator::Generator;
use crate::frontend::source::Span;

/// Where the functions being compiled come from, for DWARF debug information.
pub struct DebugSource<'a> {
    /// The source file's name.
    pub file: String,
    /// Its directory.
    pub directory: String,
    /// The 1-based line and column of a span's start.
    pub position: &'a dyn Fn(Span) -> (u32, u32),
}

/// The DWARF builder of one module.
pub(super) struct Debug<'a, 'ctx> {
    pub(super) builder: DebugInfoBuilder<'ctx>,
    pub(super) unit: DICompileUnit<'ctx>,
    pub(super) file: DIFile<'ctx>,
    pub(super) double: DIBasicType<'ctx>,
    pub(super) source: &'a DebugSource<'a>,
}

impl<'a, 'ctx> Debug<'a, 'ctx> {
    /// The builder of `module`'s compile unit, and the module flag saying which DWARF
    /// version its debug information follows.
    pub(super) fn new(
        context: &'ctx Context,
        module: &Module<'ctx>,
        source: &'a DebugSource<'a>,
    ) -> Self {
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
        let file = builder.create_file(&source.file, &source.directory);
        let double = builder
            .create_basic_type("double", 64, 0x04, DIFlags::ZERO)
            .unwrap_or_else(|_| unreachable!("a named type"));
        let version = context.i32_type().const_int(3, false);
        module.add_basic_value_flag(
            "Debug Info Version",
            inkwell::module::FlagBehavior::Warning,
            version,
        );
        Debug {
            builder,
            unit,
            file,
            double,
            source,
        }
    }

    /// Completes the module's debug information (before verification).
    pub(super) fn finalize(&self) {
        self.builder.finalize();
    }
}

impl Generator<'_, '_> {
    // ANCHOR: debug
    /// With `-g`: the debug location of the instructions that follow.
    pub(super) fn locate(&self, span: Span) {
        if let (Some(debug), Some(scope)) = (self.debug, self.scope) {
            let (line, column) = (debug.source.position)(span);
            let location =
                debug
                    .builder
                    .create_debug_location(self.context, line, column, scope, None);
            self.builder.set_current_debug_location(location);
        }
    }

    /// With `-g`: describes the variable in `slot` (a parameter if `arg` is given).
    pub(super) fn describe(&self, name: &str, arg: Option<u32>, slot: usize, span: Span) {
        let (Some(debug), Some(scope), Some(block)) =
            (self.debug, self.scope, self.builder.get_insert_block())
        else {
            return;
        };
        let (line, column) = (debug.source.position)(span);
        let ty = debug.double.as_type();
        let variable = match arg {
            Some(arg) => debug.builder.create_parameter_variable(
                scope,
                name,
                arg,
                debug.file,
                line,
                ty,
                true,
                DIFlags::ZERO,
            ),
            None => debug.builder.create_auto_variable(
                scope,
                name,
                debug.file,
                line,
                ty,
                true,
                DIFlags::ZERO,
                0,
            ),
        };
        let location = debug
            .builder
            .create_debug_location(self.context, line, column, scope, None);
        debug.builder.insert_declare_at_end(
            self.slots[slot],
            Some(variable),
            None,
            location,
            block,
        );
    }
    // ANCHOR_END: debug
}
