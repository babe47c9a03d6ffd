"""Training SiamRPN: the run and its stages (run.py, stage_graph.py, cluster_stage.py), the configuration's checks
(run_config.py), the towers and the guarded train op (towers.py, train_op.py), schedules and stages (schedules.py,
stages.py), what a step reports (report.py, summaries.py), validation (validation.py) and distributed training
(distributed.py). train_siamese_model.py is the Sacred entry point that calls training.run.train."""
