// Generated from /docs/openapi.json by `npm run console:types` (openapi-typescript). Do not edit.
export interface paths {
    "/v1/topups": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create a top-up payment link
         * @description Requires an API key with scope `ingest` or stronger.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        userId: string;
                        packId: string;
                        /** @enum {string} */
                        provider: "stripe" | "mercadopago";
                        saveCard?: boolean;
                        currency?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            topupId: string;
                            url: string;
                            provider: string;
                            expiresAt: string;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/topups/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A top-up's status
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            topupId: string;
                            userId: string;
                            packId: string;
                            provider: string;
                            status: string;
                            amountMinor: string;
                            currency: string;
                            currencyExponent: number;
                            grantMicroCredits: string;
                            reversedMicroCredits: string;
                            refundedMinor: string;
                            disputedMinor: string;
                            url: string | null;
                            expiresAt: string;
                            createdAt: string;
                            paidAt: string | null;
                            lastError: string | null;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{id}/autotopup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A user's auto top-up settings and saved card
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            enabled: boolean;
                            packId: string | null;
                            currency: string | null;
                            threshold: string | null;
                            thresholdMicroCredits: number | null;
                            card: {
                                brand: string | null;
                                last4: string | null;
                            } | null;
                            needsCard: boolean;
                            lastCharge: {
                                topupId: string;
                                state: string;
                                declineCode: string | null;
                                at: string;
                            } | null;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        /**
         * Turn a user's auto top-up on (pack, threshold)
         * @description Requires an API key with scope `ingest` or stronger.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        packId: string;
                        threshold?: string;
                        currency?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            enabled: boolean;
                            packId: string | null;
                            currency: string | null;
                            threshold: string | null;
                            thresholdMicroCredits: number | null;
                            card: {
                                brand: string | null;
                                last4: string | null;
                            } | null;
                            needsCard: boolean;
                            lastCharge: {
                                topupId: string;
                                state: string;
                                declineCode: string | null;
                                at: string;
                            } | null;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        post?: never;
        /**
         * Turn a user's auto top-up off
         * @description Requires an API key with scope `ingest` or stronger.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            enabled: boolean;
                            packId: string | null;
                            currency: string | null;
                            threshold: string | null;
                            thresholdMicroCredits: number | null;
                            card: {
                                brand: string | null;
                                last4: string | null;
                            } | null;
                            needsCard: boolean;
                            lastCharge: {
                                topupId: string;
                                state: string;
                                declineCode: string | null;
                                at: string;
                            } | null;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/balances": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List balances (paged by account id)
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    limit?: number;
                    after?: string;
                    overdrawn?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            balances: {
                                userId: string;
                                balanceMicroCredits: number;
                                balanceCredits: string;
                                overdrawn: boolean;
                                kind: string;
                                updatedAtMs: number;
                            }[];
                            next: string | null;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/balances/{userId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One user's balance
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    userId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            balanceMicroCredits: number;
                            balanceCredits: string;
                            overdrawn: boolean;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{id}/limits": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A user's limits (own, defaults, effective)
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            user: {
                                floorMicroCredits?: number;
                                caps?: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                capsOff?: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits?: number;
                                /** @enum {string} */
                                language?: "en" | "es";
                                headroom?: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            } | null;
                            defaults: {
                                floorMicroCredits?: number;
                                caps?: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                capsOff?: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits?: number;
                                /** @enum {string} */
                                language?: "en" | "es";
                                headroom?: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            } | null;
                            effective: {
                                floorMicroCredits: number;
                                readonly caps: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                readonly capsInherited: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits: number;
                                /** @enum {string} */
                                language: "en" | "es";
                                headroom: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            };
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        /**
         * Set a user's limits
         * @description Requires an API key with scope `admin` or stronger.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        floorMicroCredits?: number;
                        caps?: {
                            /** @enum {string} */
                            period: "day" | "week" | "month";
                            capMicroCredits: number;
                            /**
                             * @default hard
                             * @enum {string}
                             */
                            kind?: "hard" | "soft";
                        }[];
                        capsOff?: ("day" | "week" | "month")[];
                        lowBalanceMicroCredits?: number;
                        /** @enum {string} */
                        language?: "en" | "es";
                        headroom?: {
                            /** @enum {string} */
                            mode: "p95";
                        } | {
                            /** @enum {string} */
                            mode: "fixed";
                            microCredits: number;
                        } | {
                            /** @enum {string} */
                            mode: "off";
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            user: {
                                floorMicroCredits?: number;
                                caps?: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                capsOff?: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits?: number;
                                /** @enum {string} */
                                language?: "en" | "es";
                                headroom?: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            } | null;
                            defaults: {
                                floorMicroCredits?: number;
                                caps?: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                capsOff?: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits?: number;
                                /** @enum {string} */
                                language?: "en" | "es";
                                headroom?: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            } | null;
                            effective: {
                                floorMicroCredits: number;
                                readonly caps: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                readonly capsInherited: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits: number;
                                /** @enum {string} */
                                language: "en" | "es";
                                headroom: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            };
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        post?: never;
        /**
         * Remove a user's own limits (defaults apply)
         * @description Requires an API key with scope `admin` or stronger.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            user: {
                                floorMicroCredits?: number;
                                caps?: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                capsOff?: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits?: number;
                                /** @enum {string} */
                                language?: "en" | "es";
                                headroom?: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            } | null;
                            defaults: {
                                floorMicroCredits?: number;
                                caps?: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                capsOff?: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits?: number;
                                /** @enum {string} */
                                language?: "en" | "es";
                                headroom?: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            } | null;
                            effective: {
                                floorMicroCredits: number;
                                readonly caps: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                readonly capsInherited: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits: number;
                                /** @enum {string} */
                                language: "en" | "es";
                                headroom: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            };
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/limits/defaults": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Default limits
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            user: {
                                floorMicroCredits?: number;
                                caps?: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                capsOff?: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits?: number;
                                /** @enum {string} */
                                language?: "en" | "es";
                                headroom?: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            } | null;
                            defaults: {
                                floorMicroCredits?: number;
                                caps?: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                capsOff?: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits?: number;
                                /** @enum {string} */
                                language?: "en" | "es";
                                headroom?: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            } | null;
                            effective: {
                                floorMicroCredits: number;
                                readonly caps: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                readonly capsInherited: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits: number;
                                /** @enum {string} */
                                language: "en" | "es";
                                headroom: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            };
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        /**
         * Set the default limits
         * @description Requires an API key with scope `admin` or stronger.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        floorMicroCredits?: number;
                        caps?: {
                            /** @enum {string} */
                            period: "day" | "week" | "month";
                            capMicroCredits: number;
                            /**
                             * @default hard
                             * @enum {string}
                             */
                            kind?: "hard" | "soft";
                        }[];
                        capsOff?: ("day" | "week" | "month")[];
                        lowBalanceMicroCredits?: number;
                        /** @enum {string} */
                        language?: "en" | "es";
                        headroom?: {
                            /** @enum {string} */
                            mode: "p95";
                        } | {
                            /** @enum {string} */
                            mode: "fixed";
                            microCredits: number;
                        } | {
                            /** @enum {string} */
                            mode: "off";
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            user: {
                                floorMicroCredits?: number;
                                caps?: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                capsOff?: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits?: number;
                                /** @enum {string} */
                                language?: "en" | "es";
                                headroom?: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            } | null;
                            defaults: {
                                floorMicroCredits?: number;
                                caps?: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                capsOff?: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits?: number;
                                /** @enum {string} */
                                language?: "en" | "es";
                                headroom?: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            } | null;
                            effective: {
                                floorMicroCredits: number;
                                readonly caps: {
                                    /** @enum {string} */
                                    period: "day" | "week" | "month";
                                    capMicroCredits: number;
                                    /**
                                     * @default hard
                                     * @enum {string}
                                     */
                                    kind: "hard" | "soft";
                                }[];
                                readonly capsInherited: ("day" | "week" | "month")[];
                                lowBalanceMicroCredits: number;
                                /** @enum {string} */
                                language: "en" | "es";
                                headroom: {
                                    /** @enum {string} */
                                    mode: "p95";
                                } | {
                                    /** @enum {string} */
                                    mode: "fixed";
                                    microCredits: number;
                                } | {
                                    /** @enum {string} */
                                    mode: "off";
                                };
                            };
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{id}/status": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Enforcement status: allowed or blocked, and why
         * @description With `agent`, the agent the user is talking to: a hard operator budget reached for it (or for all agents) blocks with reason `operator_budget` until its window ends.
         *
         *     Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    agent?: string;
                };
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            allowed: boolean;
                            reason: ("operator" | "operator_budget" | "insufficient_balance" | "insufficient_headroom" | "daily_cap" | "weekly_cap" | "monthly_cap") | null;
                            balanceMicroCredits: number;
                            headroom: {
                                microCredits: number;
                                credits: string;
                                /** @enum {string} */
                                basis: "p95" | "no_data" | "fixed" | "off";
                                agentId?: string;
                                provider?: string;
                                model?: string;
                                samples?: number;
                            };
                            liftsAt: string | null;
                            windows: {
                                /** @enum {string} */
                                period: "day" | "week" | "month";
                                /** @enum {string} */
                                kind: "hard" | "soft";
                                capMicroCredits: number;
                                spentMicroCredits: number;
                                resetsAt: string;
                            }[];
                            topupUrl?: string;
                            /** @enum {string} */
                            language?: "en" | "es";
                            timeZone: string;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{id}/consumo": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Balance, today's and this month's usage, limits (the /consumo answer)
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            balanceMicroCredits: number;
                            today: {
                                requests: number;
                                tokens: number;
                                chargedMicroCredits: number;
                            };
                            month: {
                                requests: number;
                                tokens: number;
                                chargedMicroCredits: number;
                            };
                            limits: {
                                /** @enum {string} */
                                period: "day" | "week" | "month";
                                /** @enum {string} */
                                kind: "hard" | "soft";
                                capMicroCredits: number;
                                spentMicroCredits: number;
                                resetsAt: string;
                            }[];
                            lowBalance: boolean;
                            topupHint?: string;
                            /** @enum {string} */
                            language?: "en" | "es";
                            timeZone: string;
                            credits: {
                                paidMicroCredits: number;
                                promotionalMicroCredits: number;
                                refundCreditMicroCredits: number;
                                debtMicroCredits: number;
                                nextExpiry: {
                                    at: string;
                                    microCredits: number;
                                    /** @enum {string} */
                                    kind: "paid" | "promotional" | "refund-credit";
                                } | null;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{id}/block": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Block a user manually
         * @description Requires an API key with scope `admin` or stronger.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        reason: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            allowed: boolean;
                            reason: ("operator" | "operator_budget" | "insufficient_balance" | "insufficient_headroom" | "daily_cap" | "weekly_cap" | "monthly_cap") | null;
                            balanceMicroCredits: number;
                            headroom: {
                                microCredits: number;
                                credits: string;
                                /** @enum {string} */
                                basis: "p95" | "no_data" | "fixed" | "off";
                                agentId?: string;
                                provider?: string;
                                model?: string;
                                samples?: number;
                            };
                            liftsAt: string | null;
                            windows: {
                                /** @enum {string} */
                                period: "day" | "week" | "month";
                                /** @enum {string} */
                                kind: "hard" | "soft";
                                capMicroCredits: number;
                                spentMicroCredits: number;
                                resetsAt: string;
                            }[];
                            topupUrl?: string;
                            /** @enum {string} */
                            language?: "en" | "es";
                            timeZone: string;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{id}/unblock": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Lift a manual block
         * @description Requires an API key with scope `admin` or stronger.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            allowed: boolean;
                            reason: ("operator" | "operator_budget" | "insufficient_balance" | "insufficient_headroom" | "daily_cap" | "weekly_cap" | "monthly_cap") | null;
                            balanceMicroCredits: number;
                            headroom: {
                                microCredits: number;
                                credits: string;
                                /** @enum {string} */
                                basis: "p95" | "no_data" | "fixed" | "off";
                                agentId?: string;
                                provider?: string;
                                model?: string;
                                samples?: number;
                            };
                            liftsAt: string | null;
                            windows: {
                                /** @enum {string} */
                                period: "day" | "week" | "month";
                                /** @enum {string} */
                                kind: "hard" | "soft";
                                capMicroCredits: number;
                                spentMicroCredits: number;
                                resetsAt: string;
                            }[];
                            topupUrl?: string;
                            /** @enum {string} */
                            language?: "en" | "es";
                            timeZone: string;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Usage totals grouped by user, agent, model or day (same numbers as `creditgate usage`)
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    user?: string;
                    agent?: string;
                    model?: string;
                    from?: string;
                    to?: string;
                    by?: "user" | "agent" | "model" | "day";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @enum {string} */
                            by: "user" | "agent" | "model" | "day";
                            fromMs: number | null;
                            toMs: number | null;
                            rows: {
                                key: string;
                                requests: number;
                                errors: number;
                                input: number;
                                output: number;
                                cacheRead: number;
                                cacheWrite: number;
                                totalTokens: number;
                                costPicoUsd: string;
                                costMicros: number;
                                costUsd: string;
                                chargedMicros: number;
                                unknownModelRequests: number;
                                fallbackPricedRequests: number;
                                cacheWrite1h: number;
                                providerBilledRequests: number;
                                providerBilledCostUsd: string;
                                providerBilledTableCostUsd: string;
                                providerBilledDiffUsd: string;
                                heldRequests: number;
                                heldCostUsd: string;
                                heldUnpricedRequests: number;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        /**
         * Push a batch of usage events (billed once per idempotency key)
         * @description Each event is billed, duplicate, conflict (same key, different content), held (out of range: review queue) or rejected with a reason; events never apply partially. timestampMs must be within 30 days before and 10 minutes after the server clock. A key shaped like the meter's dedupe key (12 hex digits, '-', 32 hex digits) must equal the identity recomputed from the event's content; other keys are namespaced per API key and agent. Events of an edge meter (edgeId set; `creditgate meter --ship-to`) must carry the meter's identity, skip the 30-day window (the meter's plausibility ranges apply) and are priced here with this server's price table. Keys of scope push, ingest or admin. Each event: see components.schemas.PushEvent.
         *
         *     Requires an API key with scope `push`, `ingest` or `admin` (not `read`).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        events: unknown[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            billed: number;
                            duplicate: number;
                            conflict: number;
                            held: number;
                            rejected: number;
                            results: ({
                                status: string;
                            } & {
                                [key: string]: unknown;
                            })[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{id}/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One user's usage in a time range
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    fromMs?: number;
                    toMs?: number;
                };
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            fromMs: number;
                            toMs: number;
                            requests: number;
                            tokens: number;
                            chargedMicroCredits: number;
                            byModel: {
                                provider: string;
                                model: string;
                                requests: number;
                                tokens: number;
                                chargedMicroCredits: number;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{id}/calls": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One user's recent billed calls, newest first, with latency and redacted previews
         * @description Previews (the user's message and the reply, redacted before storage) are null unless the server runs with CREDITGATE_PREVIEWS=on, for text-less calls, and after purge-previews. Page with before=<last id>.
         *
         *     Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    fromMs?: number;
                    toMs?: number;
                    limit?: number;
                    before?: number;
                };
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            calls: {
                                id: number;
                                messageTsMs: number;
                                agentId: string;
                                sessionKey: string | null;
                                provider: string;
                                model: string;
                                inputTokens: number;
                                outputTokens: number;
                                cacheReadTokens: number;
                                cacheWriteTokens: number;
                                isError: boolean;
                                costPicoUsd: string;
                                chargeMicroCredits: number;
                                latencyMs: number | null;
                                previewUser: string | null;
                                previewReply: string | null;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{id}/previews": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Erase every stored preview of one user (same as `creditgate purge-previews`)
         * @description Requires an API key with scope `admin` or stronger.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            rows: number;
                            held: number;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/agents/{agentId}/usage": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One agent's usage in a time range
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    fromMs?: number;
                    toMs?: number;
                };
                header?: never;
                path: {
                    agentId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            agentId: string;
                            fromMs: number;
                            toMs: number;
                            requests: number;
                            tokens: number;
                            chargedMicroCredits: number;
                            users: number;
                            lastHourMicroCredits: number;
                            last24hMicroCredits: number;
                            runwayHours?: number;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/agents/{agentId}/burn": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * An agent's spend rate and runway
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    agentId: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            agentId: string;
                            lastHourMicroCredits: number;
                            last24hMicroCredits: number;
                            runwayHours?: number;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/reports": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Usage report over a range, grouped and filtered (same numbers as `creditgate report --json`)
         * @description One of today, last, or from/to (dates in the server's CREDITGATE_TIMEZONE; a date `to` is inclusive). by: comma-separated day|week|month|agent|model|provider|user|session|kind, at most one of day/week/month. Latency (user message to reply, ms: mean and nearest-rank p95) is read from the raw rows that have one; rows billed before it was recorded have none (latencySamples counts the rows behind it). latency=false skips it.
         *
         *     Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    today?: "0" | "1" | "true" | "false";
                    last?: string;
                    from?: string;
                    to?: string;
                    agent?: string;
                    model?: string;
                    provider?: string;
                    user?: string;
                    kind?: "dm" | "group" | "subagent" | "cron" | "heartbeat" | "hook" | "operator" | "other";
                    by?: string;
                    top?: number;
                    latency?: "0" | "1" | "true" | "false";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            fromMs: number;
                            toMs: number;
                            timeZone: string;
                            by: ("day" | "week" | "month" | "agent" | "model" | "provider" | "user" | "session" | "kind")[];
                            rows: {
                                group: {
                                    [key: string]: string;
                                };
                                requests: number;
                                errors: number;
                                successRatePct: number | null;
                                inputTokens: number;
                                outputTokens: number;
                                cacheReadTokens: number;
                                cacheWriteTokens: number;
                                totalTokens: number;
                                costPicoUsd: string;
                                costUsd: string;
                                chargedMicroCredits: number;
                                chargedUsd: string | null;
                                marginUsd: string | null;
                                avgLatencyMs: number | null;
                                p95LatencyMs: number | null;
                                latencySamples: number;
                            }[];
                            totals: {
                                group: {
                                    [key: string]: string;
                                };
                                requests: number;
                                errors: number;
                                successRatePct: number | null;
                                inputTokens: number;
                                outputTokens: number;
                                cacheReadTokens: number;
                                cacheWriteTokens: number;
                                totalTokens: number;
                                costPicoUsd: string;
                                costUsd: string;
                                chargedMicroCredits: number;
                                chargedUsd: string | null;
                                marginUsd: string | null;
                                avgLatencyMs: number | null;
                                p95LatencyMs: number | null;
                                latencySamples: number;
                            };
                            budgets: {
                                /** @enum {string} */
                                scope: "all" | "agent" | "provider";
                                subject: string;
                                /** @enum {string} */
                                period: "day" | "month";
                                limitMicroUsd: number;
                                /** @enum {string} */
                                mode: "soft" | "hard";
                                thresholdsPct: number[] | null;
                                updatedAtMs: number;
                                name: string;
                                windowKey: string;
                                windowStartMs: number;
                                windowEndMs: number;
                                limitUsd: string;
                                spentUsd: string;
                                spentPicoUsd: string;
                                usedPct: number;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/budgets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The operator's budgets and their current window's provider cost
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            timeZone: string;
                            budgets: {
                                /** @enum {string} */
                                scope: "all" | "agent" | "provider";
                                subject: string;
                                /** @enum {string} */
                                period: "day" | "month";
                                limitMicroUsd: number;
                                /** @enum {string} */
                                mode: "soft" | "hard";
                                thresholdsPct: number[] | null;
                                updatedAtMs: number;
                                name: string;
                                windowKey: string;
                                windowStartMs: number;
                                windowEndMs: number;
                                limitUsd: string;
                                spentUsd: string;
                                spentPicoUsd: string;
                                usedPct: number;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        /**
         * Set one operator budget (daily or monthly USD on provider cost; soft: alerts; hard: also blocks)
         * @description Requires an API key with scope `admin` or stronger.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @enum {string} */
                        scope: "all" | "agent" | "provider";
                        subject?: string;
                        /** @enum {string} */
                        period: "day" | "month";
                        limitUsd: string;
                        /**
                         * @default soft
                         * @enum {string}
                         */
                        mode?: "soft" | "hard";
                        thresholdsPct?: number[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            timeZone: string;
                            budgets: {
                                /** @enum {string} */
                                scope: "all" | "agent" | "provider";
                                subject: string;
                                /** @enum {string} */
                                period: "day" | "month";
                                limitMicroUsd: number;
                                /** @enum {string} */
                                mode: "soft" | "hard";
                                thresholdsPct: number[] | null;
                                updatedAtMs: number;
                                name: string;
                                windowKey: string;
                                windowStartMs: number;
                                windowEndMs: number;
                                limitUsd: string;
                                spentUsd: string;
                                spentPicoUsd: string;
                                usedPct: number;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        post?: never;
        /**
         * Remove an operator budget (one period, or both)
         * @description Requires an API key with scope `admin` or stronger.
         */
        delete: {
            parameters: {
                query: {
                    scope: "all" | "agent" | "provider";
                    subject?: string;
                    period?: "day" | "month";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            timeZone: string;
                            budgets: {
                                /** @enum {string} */
                                scope: "all" | "agent" | "provider";
                                subject: string;
                                /** @enum {string} */
                                period: "day" | "month";
                                limitMicroUsd: number;
                                /** @enum {string} */
                                mode: "soft" | "hard";
                                thresholdsPct: number[] | null;
                                updatedAtMs: number;
                                name: string;
                                windowKey: string;
                                windowStartMs: number;
                                windowEndMs: number;
                                limitUsd: string;
                                spentUsd: string;
                                spentPicoUsd: string;
                                usedPct: number;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/notices": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Undelivered user notices
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: number;
                            userId: string;
                            channel: string;
                            to: string;
                            accountId: string;
                            kind: string;
                            text: string;
                            createdAt: string;
                        }[];
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/notices/{id}/ack": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Acknowledge a delivered notice
         * @description Requires an API key with scope `ingest` or stronger.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: number;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Acknowledged (no body) */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/alerts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Operator alerts and their webhook delivery state
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    state?: "none" | "pending" | "queued" | "delivered" | "dead";
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: number;
                            accountId: string;
                            kind: string;
                            threshold: string;
                            windowKey: string;
                            payload: {
                                balanceMicroCredits?: number;
                                headroomMicroCredits?: number;
                                amountMicroCredits?: number;
                                period?: string;
                                capKind?: string;
                                pct?: number;
                                capMicroCredits?: number;
                                spentMicroCredits?: number;
                                reason?: string | null;
                                liftsAtMs?: number | null;
                                lastHourMicroCredits?: number;
                                avgHourMicroCredits?: number;
                                topupUrl?: string | null;
                                operatorReason?: string | null;
                                provider?: string;
                                currency?: string;
                                providerBalanceMicro?: number;
                                thresholdMicro?: number;
                                runwayHours?: number | null;
                                runsOutAtMs?: number | null;
                                thresholdHours?: number;
                                lastHourMicro?: number;
                                avgHourMicro?: number;
                                day?: string;
                                providerMicro?: number;
                                meteredMicro?: number;
                                driftPct?: number | null;
                                causes?: string[];
                                budget?: string;
                                budgetUsd?: string;
                                spentUsd?: string;
                            };
                            createdAtMs: number;
                            /** @enum {string} */
                            webhookState: "none" | "pending" | "queued" | "delivered" | "dead";
                            webhookAttempts: number;
                            webhookError: string | null;
                        }[];
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/packs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Credit packs and their prices
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            packs: {
                                id: string;
                                title: string;
                                credits: string;
                                grantMicroCredits: number;
                                prices: {
                                    provider: string;
                                    currency: string;
                                    amount: string;
                                }[];
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{id}/ledger": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A user's ledger entries, newest first
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    limit?: number;
                };
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            entries: {
                                id: number;
                                accountId: string;
                                /** @enum {string} */
                                kind: "usage" | "grant" | "topup" | "refund" | "reversal" | "adjustment" | "expiry";
                                amountMicroCredits: number;
                                balanceAfterMicroCredits: number;
                                idempotencyKey: string;
                                reason: string | null;
                                ref: string | null;
                                createdAtMs: number;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{id}/grants": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A user's grants (paid, promotional, refund credit; remaining, expiry) and their totals
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    limit?: number;
                };
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            summary: {
                                paidMicroCredits: number;
                                promotionalMicroCredits: number;
                                refundCreditMicroCredits: number;
                                debtMicroCredits: number;
                                nextExpiry: {
                                    atMs: number;
                                    microCredits: number;
                                    /** @enum {string} */
                                    kind: "paid" | "promotional" | "refund-credit";
                                    grantId: number;
                                } | null;
                            };
                            grants: {
                                id: number;
                                accountId: string;
                                /** @enum {string} */
                                kind: "paid" | "promotional" | "refund-credit";
                                grantedMicroCredits: number;
                                remainingMicroCredits: number;
                                priority: number;
                                expiresAtMs: number | null;
                                /** @enum {string} */
                                state: "live" | "expired";
                                sourceEntryId: number | null;
                                ref: string | null;
                                createdAtMs: number;
                                closedAtMs: number | null;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        /**
         * Grant credits (idempotent per key)
         * @description Requires an API key with scope `admin` or stronger.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        credits: string | number;
                        reason: string;
                        idempotencyKey: string;
                        /**
                         * @default promotional
                         * @enum {string}
                         */
                        kind?: "paid" | "promotional" | "refund-credit";
                        expiresAt?: string;
                        priority?: number;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            status: string;
                            entryId: number | null;
                            grantedMicroCredits: number;
                            grantId: number | null;
                            /** @enum {string} */
                            kind: "paid" | "promotional" | "refund-credit";
                            expiresAtMs: number | null;
                            debtPaidMicroCredits: number;
                            balanceMicroCredits: number;
                            balanceCredits: string;
                        };
                    };
                };
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            status: string;
                            entryId: number | null;
                            grantedMicroCredits: number;
                            grantId: number | null;
                            /** @enum {string} */
                            kind: "paid" | "promotional" | "refund-credit";
                            expiresAtMs: number | null;
                            debtPaidMicroCredits: number;
                            balanceMicroCredits: number;
                            balanceCredits: string;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List API keys (never the secrets)
         * @description Requires an API key with scope `admin` or stronger.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            keys: {
                                id: string;
                                name: string | null;
                                /** @enum {string} */
                                scope: "push" | "read" | "ingest" | "admin";
                                createdAtMs: number;
                                lastUsedAtMs: number | null;
                                revokedAtMs: number | null;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        /**
         * Create an API key; the response shows the key once
         * @description Requires an API key with scope `admin` or stronger.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @enum {string} */
                        scope: "push" | "read" | "ingest" | "admin";
                        name?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: string;
                            name: string | null;
                            /** @enum {string} */
                            scope: "push" | "read" | "ingest" | "admin";
                            createdAtMs: number;
                            lastUsedAtMs: number | null;
                            revokedAtMs: number | null;
                            key: string;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/keys/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Revoke an API key
         * @description Requires an API key with scope `admin` or stronger.
         */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id: string;
                            name: string | null;
                            /** @enum {string} */
                            scope: "push" | "read" | "ingest" | "admin";
                            createdAtMs: number;
                            lastUsedAtMs: number | null;
                            revokedAtMs: number | null;
                        } | null;
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/providers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Provider accounts: balance, burn, runway, drift, last poll and error
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            providers: {
                                /** @enum {string} */
                                provider: "openrouter" | "openai" | "anthropic" | "moonshot" | "deepseek";
                                keySource: string | null;
                                currency: string | null;
                                balanceMicro: number | null;
                                balanceAt: string | null;
                                burn: {
                                    provider: {
                                        lastHourMicro: number;
                                        last24hMicro: number;
                                        last7dMicro: number;
                                        perDayMicro: number | null;
                                    };
                                    metered: {
                                        lastHourMicro: number;
                                        last24hMicro: number;
                                        last7dMicro: number;
                                        perDayMicro: number | null;
                                        /** @enum {string} */
                                        currency: "USD";
                                    };
                                };
                                runway: {
                                    hours: number | null;
                                    runsOutAt: string | null;
                                    basis: ("provider" | "metered") | null;
                                };
                                fx: {
                                    currency: string;
                                    usdPerUnit: string | null;
                                } | null;
                                usd: {
                                    balanceMicro: number | null;
                                    burnPerDayMicro: number | null;
                                } | null;
                                balances: {
                                    currency: string;
                                    balanceMicro: number;
                                    usdMicro: number | null;
                                }[] | null;
                                drift: {
                                    diffMicro: number;
                                    pct: number | null;
                                    exceeds: boolean;
                                    day: string;
                                    currency: string;
                                    providerMicro: number;
                                    providerUsdMicro: number;
                                    meteredMicro: number;
                                } | null;
                                lastPollAt: string | null;
                                lastOkAt: string | null;
                                error: {
                                    /** @enum {string} */
                                    kind: "unauthorized" | "forbidden" | "rate_limited" | "server" | "http" | "timeout" | "network" | "shape" | "no_key" | "config";
                                    message: string;
                                    at: string | null;
                                    consecutiveFailures: number;
                                    retryAfterMs: number | null;
                                } | null;
                                thresholds: {
                                    lowBalanceMicro: number;
                                    lowRunwayHours: number;
                                    spikeFactor: number;
                                    driftPct: number;
                                    driftMinMicro: number;
                                };
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/providers/alerts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Alert thresholds per provider (merged) and the stored defaults
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            providers: {
                                /** @enum {string} */
                                provider: "openrouter" | "openai" | "anthropic" | "moonshot" | "deepseek";
                                currency: string | null;
                                thresholds: {
                                    lowBalanceMicro: number;
                                    lowRunwayHours: number;
                                    spikeFactor: number;
                                    driftPct: number;
                                    driftMinMicro: number;
                                };
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/providers/{provider}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One provider account
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    provider: "openrouter" | "openai" | "anthropic" | "moonshot" | "deepseek";
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @enum {string} */
                            provider: "openrouter" | "openai" | "anthropic" | "moonshot" | "deepseek";
                            keySource: string | null;
                            currency: string | null;
                            balanceMicro: number | null;
                            balanceAt: string | null;
                            burn: {
                                provider: {
                                    lastHourMicro: number;
                                    last24hMicro: number;
                                    last7dMicro: number;
                                    perDayMicro: number | null;
                                };
                                metered: {
                                    lastHourMicro: number;
                                    last24hMicro: number;
                                    last7dMicro: number;
                                    perDayMicro: number | null;
                                    /** @enum {string} */
                                    currency: "USD";
                                };
                            };
                            runway: {
                                hours: number | null;
                                runsOutAt: string | null;
                                basis: ("provider" | "metered") | null;
                            };
                            fx: {
                                currency: string;
                                usdPerUnit: string | null;
                            } | null;
                            usd: {
                                balanceMicro: number | null;
                                burnPerDayMicro: number | null;
                            } | null;
                            balances: {
                                currency: string;
                                balanceMicro: number;
                                usdMicro: number | null;
                            }[] | null;
                            drift: {
                                diffMicro: number;
                                pct: number | null;
                                exceeds: boolean;
                                day: string;
                                currency: string;
                                providerMicro: number;
                                providerUsdMicro: number;
                                meteredMicro: number;
                            } | null;
                            lastPollAt: string | null;
                            lastOkAt: string | null;
                            error: {
                                /** @enum {string} */
                                kind: "unauthorized" | "forbidden" | "rate_limited" | "server" | "http" | "timeout" | "network" | "shape" | "no_key" | "config";
                                message: string;
                                at: string | null;
                                consecutiveFailures: number;
                                retryAfterMs: number | null;
                            } | null;
                            thresholds: {
                                lowBalanceMicro: number;
                                lowRunwayHours: number;
                                spikeFactor: number;
                                driftPct: number;
                                driftMinMicro: number;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/providers/{provider}/history": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A provider's snapshots and daily spend vs metered cost
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    from?: string;
                    to?: string;
                    limit?: number;
                };
                header?: never;
                path: {
                    provider: "openrouter" | "openai" | "anthropic" | "moonshot" | "deepseek";
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @enum {string} */
                            provider: "openrouter" | "openai" | "anthropic" | "moonshot" | "deepseek";
                            fx: {
                                currency: string;
                                usdPerUnit: string | null;
                            } | null;
                            snapshots: {
                                at: string;
                                currency: string;
                                balanceMicro: number | null;
                                spentTotalMicro: number | null;
                                spendSinceLastMicro: number | null;
                                runwayHours: number | null;
                                runwayBasis: ("provider" | "metered") | null;
                                detail: {
                                    [key: string]: unknown;
                                };
                            }[];
                            days: {
                                day: string;
                                currency: string;
                                providerMicro: number;
                                providerUsdMicro: number | null;
                                /** @enum {string} */
                                source: "reported" | "derived";
                                meteredMicro: number | null;
                                drift: {
                                    diffMicro: number;
                                    pct: number | null;
                                    exceeds: boolean;
                                } | null;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/providers/{provider}/alerts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Set a provider's alert thresholds (null: inherit the defaults; at least one field)
         * @description Requires an API key with scope `admin` or stronger.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    provider: "openrouter" | "openai" | "anthropic" | "moonshot" | "deepseek" | "all";
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        lowBalance?: string | null;
                        lowRunwayDays?: string | null;
                        spikeFactor?: number | null;
                        driftPct?: number | null;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            provider: string;
                            stored: unknown;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/overview": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Overview of a time range: cost, charged, margin, users, top-ups, spend series, runway
         * @description Totals equal the sums of `GET /v1/usage?by=day` for the same from/to (whole days from a rollup of the same daily aggregates). The series buckets by UTC day (usage_daily) or hour (raw rows, range at most 8 days), stacked by agent, model or provider (8 biggest, the rest as `other`). Burn rate: end users' charge over the last 7 complete UTC days, per day.
         *
         *     Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    from?: string;
                    to?: string;
                    bucket?: "day" | "hour";
                    stack?: "agent" | "model" | "provider";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            fromMs: number;
                            toMs: number | null;
                            creditsPerUsd: string;
                            totals: {
                                requests: number;
                                errors: number;
                                /** @description exact pico-USD (10^-12 USD), decimal string */
                                costPicoUsd: string;
                                /** @description micro-credits (10^-6 credits) */
                                chargedMicroCredits: number;
                                /** @description micro-credits (10^-6 credits) */
                                marginMicroCredits: number;
                            };
                            activeUsers: number;
                            activeAgentAccounts: number;
                            newUsers: number;
                            topups: {
                                currency: string;
                                exponent: number;
                                paidCount: number;
                                paidMinor: number;
                                refundedCount: number;
                                refundedMinor: number;
                            }[];
                            series: {
                                /** @enum {string} */
                                bucket: "day" | "hour";
                                /** @enum {string} */
                                stack: "agent" | "model" | "provider";
                                points: {
                                    bucketStartMs: number;
                                    key: string;
                                    requests: number;
                                    /** @description exact pico-USD (10^-12 USD), decimal string */
                                    costPicoUsd: string;
                                    /** @description micro-credits (10^-6 credits) */
                                    chargedMicroCredits: number;
                                }[];
                            };
                            topUsers: {
                                accountId: string;
                                requests: number;
                                /** @description exact pico-USD (10^-12 USD), decimal string */
                                costPicoUsd: string;
                                /** @description micro-credits (10^-6 credits) */
                                chargedMicroCredits: number;
                            }[];
                            topModels: {
                                model: string;
                                requests: number;
                                /** @description exact pico-USD (10^-12 USD), decimal string */
                                costPicoUsd: string;
                                /** @description micro-credits (10^-6 credits) */
                                chargedMicroCredits: number;
                            }[];
                            balances: {
                                /** @description micro-credits (10^-6 credits) */
                                prepaidMicroCredits: number;
                                /** @description micro-credits (10^-6 credits) */
                                owedMicroCredits: number;
                                fundedUsers: number;
                                overdrawnUsers: number;
                                users: number;
                                /** @description micro-credits (10^-6 credits) */
                                burnMicroCreditsPerDay: number;
                                runwayDays: number | null;
                            };
                            runouts: {
                                accountId: string;
                                /** @description micro-credits (10^-6 credits) */
                                balanceMicroCredits: number;
                                /** @description micro-credits (10^-6 credits) */
                                burnMicroCreditsPerDay: number;
                                runwayDays: number;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * End users: searchable, sortable, paged (balance, status, today/month charges, limits)
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    q?: string;
                    sort?: "id" | "balance" | "activity" | "created";
                    dir?: "asc" | "desc";
                    limit?: number;
                    offset?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            total: number;
                            users: {
                                userId: string;
                                /** @description micro-credits (10^-6 credits) */
                                balanceMicroCredits: number;
                                allowed: boolean | null;
                                reason: string | null;
                                blockReason: string | null;
                                limits: {
                                    [key: string]: unknown;
                                } | null;
                                language: string | null;
                                /** @description micro-credits (10^-6 credits) */
                                todayChargedMicroCredits: number;
                                /** @description micro-credits (10^-6 credits) */
                                monthChargedMicroCredits: number;
                                lastActivityMs: number;
                                createdAtMs: number;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/{id}/activity": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One user's balance over time, charges per day and model, top-ups, alerts and notices
         * @description Per-day and per-model figures cover the whole UTC days the range touches. 404 for an id creditgate has never seen (no account, limits, block or status).
         *
         *     Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    from?: string;
                    to?: string;
                };
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            userId: string;
                            balance: {
                                atMs: number;
                                /** @description micro-credits (10^-6 credits) */
                                balanceMicroCredits: number;
                            }[];
                            byDay: {
                                requests: number;
                                /** @description exact pico-USD (10^-12 USD), decimal string */
                                costPicoUsd: string;
                                /** @description micro-credits (10^-6 credits) */
                                chargedMicroCredits: number;
                                dayStartMs: number;
                            }[];
                            byModel: {
                                requests: number;
                                /** @description exact pico-USD (10^-12 USD), decimal string */
                                costPicoUsd: string;
                                /** @description micro-credits (10^-6 credits) */
                                chargedMicroCredits: number;
                                model: string;
                            }[];
                            topups: {
                                id: string;
                                provider: string;
                                status: string;
                                currency: string;
                                exponent: number;
                                amountMinor: number;
                                discountMinor: number;
                                refundedMinor: number;
                                /** @description micro-credits (10^-6 credits) */
                                grantMicroCredits: number;
                                createdAtMs: number;
                                paidAtMs: number | null;
                            }[];
                            alerts: {
                                id: number;
                                kind: string;
                                threshold: string;
                                createdAtMs: number;
                                webhookState: string;
                            }[];
                            notices: {
                                id: number;
                                kind: string;
                                text: string;
                                createdAtMs: number;
                                ackedAtMs: number | null;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/agents": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Agents: charges, requests, users and models per agent, and the agent's own (unattributed) cost
         * @description Covers the whole UTC days the range touches.
         *
         *     Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    from?: string;
                    to?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            agents: {
                                requests: number;
                                /** @description exact pico-USD (10^-12 USD), decimal string */
                                costPicoUsd: string;
                                /** @description micro-credits (10^-6 credits) */
                                chargedMicroCredits: number;
                                agentId: string;
                                users: number;
                                models: number;
                                /** @description exact pico-USD (10^-12 USD), decimal string */
                                ownCostPicoUsd: string;
                                ownRequests: number;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/payments": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Top-ups by status, provider and currency, revenue per day, and a page of top-ups with their provider events
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    from?: string;
                    to?: string;
                    status?: "pending" | "awaiting_payment" | "paid" | "failed" | "expired";
                    provider?: "stripe" | "mercadopago";
                    limit?: number;
                    offset?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            groups: {
                                status: string;
                                provider: string;
                                currency: string;
                                exponent: number;
                                count: number;
                                amountMinor: number;
                                discountMinor: number;
                                refundedMinor: number;
                            }[];
                            revenue: {
                                dayStartMs: number;
                                currency: string;
                                exponent: number;
                                amountMinor: number;
                            }[];
                            total: number;
                            topups: {
                                id: string;
                                provider: string;
                                status: string;
                                currency: string;
                                exponent: number;
                                amountMinor: number;
                                discountMinor: number;
                                refundedMinor: number;
                                /** @description micro-credits (10^-6 credits) */
                                grantMicroCredits: number;
                                createdAtMs: number;
                                paidAtMs: number | null;
                                userId: string;
                                packId: string;
                                lastError: string | null;
                                events: {
                                    type: string;
                                    outcome: string;
                                    detail: string | null;
                                    receivedAtMs: number;
                                }[];
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/payments/reconcile": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Ask the providers about pending top-ups and apply their answers (as `creditgate reconcile`)
         * @description Requires an API key with scope `admin` or stronger.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            checked: number;
                            results: {
                                topupId: string;
                                provider: string;
                                before: string;
                                after: string | null;
                                outcome: string;
                                detail: string | null;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/alerts/{alertId}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send a dead-lettered alert webhook again (the worker's next sweep delivers it)
         * @description Requires an API key with scope `admin` or stronger.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    alertId: number;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            alertId: number;
                            retried: boolean;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/review": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Model calls held for review (as `creditgate review`)
         * @description Requires an API key with scope `read` or stronger.
         */
        get: {
            parameters: {
                query?: {
                    status?: "held" | "released" | "voided" | "all";
                    limit?: number;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            items: {
                                id: number;
                                status: string;
                                reason: string;
                                accountId: string;
                                agentId: string;
                                provider: string;
                                model: string;
                                messageTsMs: number;
                                totalTokens: number;
                                costUsd: string | null;
                                chargeMicroCredits: string | null;
                                billedCostUsd: string | null;
                                billedAccountId: string | null;
                                createdAtMs: number;
                                resolvedAtMs: number | null;
                                resolution: string | null;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/review/{reviewId}/release": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Bill a held call exactly once (at its computed cost or costUsd)
         * @description Requires an API key with scope `admin` or stronger.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    reviewId: number;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        reason: string;
                        costUsd?: string;
                        accountId?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            status: string;
                            id: number;
                            accountId?: string;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/review/{reviewId}/void": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Keep a held call unbilled
         * @description Requires an API key with scope `admin` or stronger.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    reviewId: number;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        reason: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            status: string;
                            id: number;
                        };
                    };
                };
                /** @description Default Response */
                "4XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
                /** @description Default Response */
                "5XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error: {
                                code: string;
                                message: string;
                                requestId: string;
                            };
                        };
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        Error: {
            error: {
                code: string;
                message: string;
                requestId: string;
            };
        };
        PushEvent: {
            idempotencyKey: string;
            agentId: string;
            userId: string;
            provider: string;
            model: string;
            input: number;
            output: number;
            /** @default 0 */
            cacheRead: number;
            /** @default 0 */
            cacheWrite: number;
            cacheWrite1h?: number;
            writtenInput?: number;
            identityInput?: number;
            identityCacheRead?: number;
            identityCacheWrite?: number;
            identityTsMs?: 0 | number;
            identityEntryId?: string;
            /** @enum {boolean} */
            zonelessTime?: true;
            countProblem?: string;
            identityOutput?: number;
            responseModel?: string;
            api?: string;
            speed?: string;
            inferenceGeo?: string;
            serviceTier?: string;
            webSearchRequests?: number;
            searchContextSize?: string;
            tierInputTotal?: number;
            supersedes?: {
                idempotencyKey: string;
                input: number;
                output: number;
                /** @default 0 */
                cacheRead: number;
                /** @default 0 */
                cacheWrite: number;
                cacheWrite1h?: number;
                webSearchRequests?: number;
                recordedCostPicoUsd?: string | null;
                /** @default true */
                success: boolean;
            };
            costUsd?: number | null;
            recordedCostPicoUsd?: string | null;
            costOrigin?: "provider-billed" | null;
            timestampMs: number;
            success: boolean;
            errorMessage?: string | null;
            sessionKey?: string | null;
            responseId?: string | null;
            sessionId?: string | null;
            edgeId?: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
