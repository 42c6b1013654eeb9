/**
 * `true` when A and B are assignable to each other, `false` otherwise. A hand-written options
 * interface (what an embedder's editor shows on hover, with a doc comment per field) and the zod
 * schema that validates it at run time are tied together with
 * `true satisfies SameType<z.input<typeof Schema>, Options>`, so the two cannot drift apart.
 */
export type SameType<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
