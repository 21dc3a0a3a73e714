/** A card's day-to-day management (日常管理) the card page offers: CardLifecycleForm sends each. */
export type LifecycleAction = "report_lost" | "freeze" | "unfreeze" | "reissue";
